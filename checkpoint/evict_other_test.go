//go:build !(linux && (amd64 || arm64))

package checkpoint_test

import "errors"

func evict(string) error {
	return errors.New("dropping a file from the page cache is not supported here")
}
