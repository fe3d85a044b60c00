package importer

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parcours-rsa/parcours/internal/domain"
)

func TestStagedFiles(t *testing.T) {
	im := &Importer{TempDir: t.TempDir()}
	dep := domain.Actor{ID: "account:dep", Role: domain.RoleDepartment}
	other := domain.Actor{ID: "account:other", Role: domain.RoleDepartment}

	s, err := im.Stage(dep, "liste.csv", strings.NewReader("Nom;Prénom\n"), Options{Format: FormatCSV, Sheet: "Suivis", Received: listDay})
	require.NoError(t, err)
	got, err := im.StagedFile(dep, s.Token)
	require.NoError(t, err)
	assert.Equal(t, Options{Format: FormatCSV, Sheet: "Suivis", Received: listDay}, got.Options())
	f, err := got.Source().Open()
	require.NoError(t, err)
	data, _ := io.ReadAll(f)
	f.Close()
	assert.Equal(t, "Nom;Prénom\n", string(data))

	_, err = im.StagedFile(other, s.Token)
	assert.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err), "bound to its uploader")
	_, err = im.StagedFile(dep, "../../etc/passwd")
	assert.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err))

	im.Unstage(s.Token)
	_, err = im.StagedFile(dep, s.Token)
	assert.Equal(t, domain.ENOTFOUND, domain.ErrorCode(err), "cancelled")

	// An hour later, swept by the next preview.
	old, err := im.Stage(dep, "vieux.csv", strings.NewReader("x"), Options{})
	require.NoError(t, err)
	past := time.Now().Add(-StagedFor - time.Minute)
	for _, ext := range []string{".data", ".json"} {
		require.NoError(t, os.Chtimes(filepath.Join(im.stagingDir(), old.Token+ext), past, past))
	}
	_, err = im.Stage(dep, "neuf.csv", strings.NewReader("y"), Options{})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(im.stagingDir(), old.Token+".data"))
	assert.True(t, os.IsNotExist(err), "swept")

	_, err = im.Stage(dep, "vide.csv", strings.NewReader(""), Options{})
	assert.Equal(t, domain.EINVALID, domain.ErrorCode(err))
	entries, _ := os.ReadDir(im.stagingDir())
	assert.Len(t, entries, 2, "an empty file is not kept")
}
