package datastore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkDvcignore refuses to hash target when a .dvcignore file between the
// repository root and target holds patterns: DVC would leave the files
// they match out of the directory's hash, and yolops does not evaluate
// gitignore patterns, so it would compute another version than DVC. The
// comment-only .dvcignore that `dvc init` writes is fine.
func checkDvcignore(root, target string) error {
	dir := filepath.Dir(target)
	if !isWithin(root, dir) {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		file := filepath.Join(d, ".dvcignore")
		if data, err := os.ReadFile(file); err == nil {
			for i, line := range strings.Split(string(data), "\n") {
				p := strings.TrimRight(line, " \r")
				if p == "" || strings.HasPrefix(p, "#") {
					continue
				}
				return fmt.Errorf("%s:%d: pattern %q: yolops does not apply .dvcignore patterns, so it could not compute the hash DVC computes; move the pattern out or the ignored files away", file, i+1, p)
			}
		}
		if d == root {
			return nil
		}
	}
}
