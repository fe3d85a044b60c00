package web_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// bigMultipart is a form of csrf, then fields, then a file of size bytes.
func bigMultipart(t *testing.T, csrfToken string, fields map[string]string, size int) (string, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	require.NoError(t, mw.WriteField("csrf", csrfToken))
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	fw, err := mw.CreateFormFile("fichier", "gros.csv")
	require.NoError(t, err)
	_, _ = fw.Write([]byte("Nom;Prénom\n"))
	_, _ = fw.Write(bytes.Repeat([]byte("x"), size))
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), body.Bytes()
}

func multipartLeftovers(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(os.TempDir(), "multipart-*"))
	require.NoError(t, err)
	return files
}

// TestUploadsLeaveNoTemporaryFile: an upload larger than net/http's 32 MB
// of memory left a full copy in the temporary directory (multipart-*), for
// ever, even when refused or unauthenticated (issue 20, item 1). Uploads
// are now streamed into the importer's own storage after the checks.
func TestUploadsLeaveNoTemporaryFile(t *testing.T) {
	before := multipartLeftovers(t)
	const size = 34 << 20
	post := func(b *browser, path, contentType string, body []byte) int {
		res, err := b.client.Post(fx.server.URL+path, contentType, bytes.NewReader(body))
		if err != nil {
			return 0 // the server may close the connection before reading it all
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}

	// Unauthenticated, on the login form.
	anon := newBrowser(t)
	_, page, _ := anon.get("/connexion")
	ct, body := bigMultipart(t, csrf(t, page), map[string]string{"email": "lea@cd.fr", "password": "x"}, size)
	require.NotEqual(t, http.StatusOK, post(anon, "/connexion", ct, body))

	// A référent may not import.
	lea := newBrowser(t)
	lea.login("lea@cd.fr")
	_, page, _ = lea.get("/echeances")
	ct, body = bigMultipart(t, csrf(t, page), nil, size)
	require.Equal(t, http.StatusForbidden, post(lea, "/imports", ct, body))

	// A forged CSRF token.
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	ct, body = bigMultipart(t, "forged", nil, size)
	require.Equal(t, http.StatusForbidden, post(dep, "/imports", ct, body))

	// The département's real upload (previewed: a list without its columns).
	_, page, _ = dep.get("/imports")
	ct, body = bigMultipart(t, csrf(t, page), map[string]string{"action": "preview"}, size)
	require.Equal(t, http.StatusBadRequest, post(dep, "/imports", ct, body))

	// A form that is not an upload: 64 KiB at most.
	_, page, _ = dep.get("/imports")
	big := url.Values{"csrf": {csrf(t, page)}, "q": {strings.Repeat("x", 100<<10)}}
	res, err := dep.client.PostForm(fx.server.URL+"/imports/correspondance", big)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)

	require.ElementsMatch(t, before, multipartLeftovers(t), "no multipart-* file left in %s", os.TempDir())
}

// TestPreviewReportHasEveryLine: the preview page shows the first 500
// rejects; the rest come whole as a CSV, for the uploader only.
func TestPreviewReportHasEveryLine(t *testing.T) {
	t.Parallel()
	dep := newBrowser(t)
	dep.login("dep@cd.fr")
	_, page, _ := dep.get("/imports")
	var list strings.Builder
	list.WriteString("Identifiant;Nom;Prénom\n")
	for i := 0; i < 620; i++ {
		list.WriteString(fmt.Sprintf("MAUVAIS IDENTIFIANT %d;Martin;Léa\n", i)) // a space: refused
	}
	status, page, _ := dep.upload("/imports", csrf(t, page), "liste.csv", []byte(list.String()), map[string]string{"action": "preview"})
	require.Equal(t, http.StatusOK, status)
	link := regexp.MustCompile(`href="(/imports/apercu/[0-9a-f]+/rapport\.csv)"`).FindStringSubmatch(page)
	require.NotNil(t, link, "a link to every line")
	require.Contains(t, page, "… et 120 autres lignes rejetées")
	status, csvBody, _ := dep.get(link[1])
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 621, strings.Count(csvBody, "\n"), "a header and 620 lines")

	other := newBrowser(t)
	other.login("admin@cd.fr")
	status, _, _ = other.get(link[1])
	require.Equal(t, http.StatusNotFound, status, "another account's preview")
}
