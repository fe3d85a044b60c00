// Package lettertest reads the text back out of a PDF letter, for tests.
package lettertest

import (
	"bytes"
	"strings"

	"github.com/ledongthuc/pdf"
)

// Text is the text of every page of a PDF, with its line breaks; runs of
// spaces and line breaks inside a paragraph are folded to one space by
// Flat, for assertions on phrases that may wrap.
func Text(b []byte) (string, error) {
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", err
	}
	rd, err := r.GetPlainText()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(rd); err != nil {
		return "", err
	}
	return out.String(), nil
}

// Flat is Text with every run of white space folded to one space.
func Flat(b []byte) (string, error) {
	s, err := Text(b)
	return strings.Join(strings.Fields(s), " "), err
}
