package importer

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/parcours-rsa/parcours/internal/domain"
)

// StagedFor is how long a previewed file waits for « Importer »: then it is
// swept.
const StagedFor = time.Hour

// Staged is a file kept between its preview and its import, bound to the
// person who uploaded it.
type Staged struct {
	Token    string      `json:"-"`
	Actor    string      `json:"actor"`
	Name     string      `json:"name"`
	Format   string      `json:"format"`
	Sheet    string      `json:"sheet"`
	Received domain.Date `json:"received"`
	Created  time.Time   `json:"created"`
	path     string
}

// Source reads the staged file.
func (s Staged) Source() Source { return FileSource(s.Name, s.path) }

// Options are the import options chosen with the preview.
func (s Staged) Options() Options {
	return Options{Format: s.Format, Sheet: s.Sheet, Received: s.Received}
}

var tokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func (im *Importer) stagingDir() string {
	dir := im.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "parcours-apercus")
}

// Stage keeps an uploaded file for its import after the preview; it sweeps
// the files older than StagedFor.
func (im *Importer) Stage(a domain.Actor, name string, body io.Reader, opt Options) (Staged, error) {
	im.Sweep()
	dir := im.stagingDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Staged{}, err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s := Staged{Token: hex.EncodeToString(b), Actor: a.ID, Name: name, Format: opt.Format, Sheet: opt.Sheet, Received: opt.Received,
		Created: time.Now()}
	s.path = filepath.Join(dir, s.Token+".data")
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return s, err
	}
	n, err := io.Copy(f, io.LimitReader(body, MaxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > MaxUpload {
		err = domain.Errorf(domain.EINVALID, "Le fichier dépasse %d Gio.", MaxUpload>>30)
	}
	if err == nil && n == 0 {
		err = domain.Errorf(domain.EINVALID, "Le fichier est vide.")
	}
	if err == nil {
		var meta []byte
		meta, _ = json.Marshal(s)
		err = os.WriteFile(filepath.Join(dir, s.Token+".json"), meta, 0o600)
	}
	if err != nil {
		im.Unstage(s.Token)
		return s, err
	}
	return s, nil
}

// ErrStagedGone is returned for a preview that expired, was cancelled, or
// belongs to someone else.
var ErrStagedGone = errors.New("staged file gone")

// StagedFile finds a staged file of actor a.
func (im *Importer) StagedFile(a domain.Actor, token string) (Staged, error) {
	gone := domain.Errorf(domain.ENOTFOUND, "Cette prévisualisation n'existe plus (elle est gardée une heure) : déposez le fichier à nouveau.")
	if !tokenPattern.MatchString(token) {
		return Staged{}, gone
	}
	dir := im.stagingDir()
	meta, err := os.ReadFile(filepath.Join(dir, token+".json"))
	if err != nil {
		return Staged{}, gone
	}
	var s Staged
	if err := json.Unmarshal(meta, &s); err != nil {
		return Staged{}, fmt.Errorf("staged %s: %w", token, err)
	}
	s.Token, s.path = token, filepath.Join(dir, token+".data")
	if s.Actor != a.ID || time.Since(s.Created) > StagedFor {
		return Staged{}, gone
	}
	return s, nil
}

// Unstage removes a staged file.
func (im *Importer) Unstage(token string) {
	if !tokenPattern.MatchString(token) {
		return
	}
	dir := im.stagingDir()
	_ = os.Remove(filepath.Join(dir, token+".data"))
	_ = os.Remove(filepath.Join(dir, token+".json"))
}

// Sweep removes the staged files older than StagedFor.
func (im *Importer) Sweep() {
	entries, err := os.ReadDir(im.stagingDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > StagedFor {
			_ = os.Remove(filepath.Join(im.stagingDir(), e.Name()))
		}
	}
}
