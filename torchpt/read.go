package torchpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
)

// Reading opcode arguments. Every length is checked against the bytes left
// before anything is allocated, so no pickle can ask for more memory than
// its own size.

func (u *unpickler) readByte() (byte, error) {
	if u.pos >= len(u.data) {
		return 0, errTruncated
	}
	b := u.data[u.pos]
	u.pos++
	return b, nil
}

func (u *unpickler) readN(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, errTruncated
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

// readLen reads a little-endian length of size bytes and checks that the
// pickle has that many bytes left, so that no length makes us allocate
// more than the pickle holds.
func (u *unpickler) readLen(size int) (int, error) {
	b, err := u.readN(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[0])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(b))
	case 8:
		n = binary.LittleEndian.Uint64(b)
	}
	if n > uint64(len(u.data)-u.pos) {
		return 0, fmt.Errorf("%w: length %d past the end", errTruncated, n)
	}
	return int(n), nil
}

func (u *unpickler) readLine() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) pushString(lenSize int, isBytes bool) error {
	n, err := u.readLen(lenSize)
	if err != nil {
		return err
	}
	b, _ := u.readN(n)
	if isBytes {
		u.push(bytes.Clone(b))
	} else {
		u.push(string(b))
	}
	return nil
}

// pushLong decodes an n-byte little-endian two's complement integer.
func (u *unpickler) pushLong(n int) error {
	if n > len(u.data)-u.pos {
		return errTruncated
	}
	b, _ := u.readN(n)
	if n <= 8 {
		var x uint64
		for i := n - 1; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
			x |= ^uint64(0) << (8 * n) // sign-extend
		}
		u.push(int64(x))
		return nil
	}
	be := make([]byte, n)
	for i := range b {
		be[n-1-i] = b[i]
	}
	x := new(big.Int).SetBytes(be)
	if b[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	if x.IsInt64() {
		u.push(x.Int64())
	} else {
		u.push(x)
	}
	return nil
}
