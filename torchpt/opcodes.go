package torchpt

// Pickle opcodes, named as in Python's pickletools. The text opcodes of
// protocols 0 and 1 other than GLOBAL, MARK and the containers are absent:
// torch.save writes protocol 2 and no checkpoint needs them.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'

	// Protocol 2.
	opProto    = 0x80
	opNewObj   = 0x81
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewTrue  = 0x88
	opNewFalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b

	// Protocol 3.
	opBinBytes      = 'B'
	opShortBinBytes = 'C'

	// Protocol 4.
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95

	// Protocol 5.
	opByteArray8 = 0x96
)

// unsupportedOps names the opcodes that Python knows but this package
// refuses, so that the error can say which it is.
var unsupportedOps = map[byte]string{
	'I':  "INT",
	'L':  "LONG",
	'F':  "FLOAT",
	'S':  "STRING",
	'V':  "UNICODE",
	'P':  "PERSID",
	'g':  "GET",
	'p':  "PUT",
	'i':  "INST",
	'o':  "OBJ",
	0x82: "EXT1",
	0x83: "EXT2",
	0x84: "EXT4",
	0x97: "NEXT_BUFFER",
	0x98: "READONLY_BUFFER",
}
