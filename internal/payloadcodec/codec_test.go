package payloadcodec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func newKey(t *testing.T, id string) Key {
	t.Helper()
	k := Key{ID: id, Secret: make([]byte, KeySize)}
	_, err := rand.Read(k.Secret)
	require.NoError(t, err)
	return k
}

func newCodec(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	require.NoError(t, err)
	return c
}

const secretText = "Cure addictologie CHU"

// dataConverter is what the service's client uses.
func dataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	dc := dataConverter(newCodec(t, newKey(t, "k1")))
	p, err := dc.ToPayload(map[string]string{"action": secretText})
	require.NoError(t, err)
	require.Equal(t, Encoding, string(p.Metadata[converter.MetadataEncoding]))
	require.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
	require.NotContains(t, string(p.Data), "addictologie")
	require.NotContains(t, p.String(), "json/plain", "the inner encoding is encrypted too")
	var back map[string]string
	require.NoError(t, dc.FromPayload(p, &back))
	require.Equal(t, secretText, back["action"])

	// Two encryptions of one value differ (fresh nonce).
	q, err := dc.ToPayload(map[string]string{"action": secretText})
	require.NoError(t, err)
	require.False(t, bytes.Equal(p.Data, q.Data))
}

// TestRotation: a new key put first encrypts; what the old one encrypted
// still decrypts while it stays in the list.
func TestRotation(t *testing.T) {
	t.Parallel()
	old, next := newKey(t, "2026-01"), newKey(t, "2026-12")
	before, err := newCodec(t, old).Encode([]*commonpb.Payload{{Data: []byte(secretText)}})
	require.NoError(t, err)

	rotated := newCodec(t, next, old)
	after, err := rotated.Encode([]*commonpb.Payload{{Data: []byte(secretText)}})
	require.NoError(t, err)
	require.Equal(t, "2026-12", string(after[0].Metadata[MetadataKeyID]))
	for _, enc := range [][]*commonpb.Payload{before, after} {
		dec, err := rotated.Decode(enc)
		require.NoError(t, err)
		require.Equal(t, secretText, string(dec[0].Data))
	}

	// The old key removed: its payloads no longer decrypt, with a clear error.
	_, err = newCodec(t, next).Decode(before)
	require.ErrorContains(t, err, `clé "2026-01", absente de PARCOURS_PAYLOAD_KEYS`)
}

// TestWrongKey: a key of the same name but another secret is refused.
func TestWrongKey(t *testing.T) {
	t.Parallel()
	enc, err := newCodec(t, newKey(t, "k1")).Encode([]*commonpb.Payload{{Data: []byte(secretText)}})
	require.NoError(t, err)
	_, err = newCodec(t, newKey(t, "k1")).Decode(enc)
	require.ErrorContains(t, err, "déchiffrement refusé")
}

// TestTamperedRefused: any changed byte, or the key id swapped to another
// known key, is refused rather than decrypted to something else.
func TestTamperedRefused(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	c := newCodec(t, k1, k2)
	enc, err := c.Encode([]*commonpb.Payload{{Data: []byte(secretText)}})
	require.NoError(t, err)
	for i := range enc[0].Data {
		bad := clone(enc[0])
		bad.Data[i] ^= 0x01
		_, err := c.Decode([]*commonpb.Payload{bad})
		require.Error(t, err, "byte %d", i)
	}
	renamed := clone(enc[0])
	renamed.Metadata[MetadataKeyID] = []byte("k2")
	_, err = c.Decode([]*commonpb.Payload{renamed})
	require.ErrorContains(t, err, "déchiffrement refusé")
	_, err = c.Decode([]*commonpb.Payload{{Metadata: enc[0].Metadata, Data: enc[0].Data[:5]}})
	require.ErrorContains(t, err, "tronqué")
}

func clone(p *commonpb.Payload) *commonpb.Payload {
	md := map[string][]byte{}
	for k, v := range p.Metadata {
		md[k] = append([]byte(nil), v...)
	}
	return &commonpb.Payload{Metadata: md, Data: append([]byte(nil), p.Data...)}
}

// TestPlainPayloadsPassThrough: what was written before encryption was
// turned on (or by the server) still reads.
func TestPlainPayloadsPassThrough(t *testing.T) {
	t.Parallel()
	plain, err := converter.GetDefaultDataConverter().ToPayload("bonjour")
	require.NoError(t, err)
	var s string
	require.NoError(t, dataConverter(newCodec(t, newKey(t, "k1"))).FromPayload(plain, &s))
	require.Equal(t, "bonjour", s)
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	a, b := make([]byte, KeySize), make([]byte, KeySize)
	b[0] = 1
	keys, err := ParseKeys("new:" + base64.StdEncoding.EncodeToString(b) + ", old:" + base64.RawStdEncoding.EncodeToString(a))
	require.NoError(t, err)
	require.Equal(t, []Key{{"new", b}, {"old", a}}, keys)

	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for in, want := range map[string]string{
		"":                      "clé n° 1",
		"sanscle":               "clé n° 1",
		"a b:" + short:          "clé n° 1",
		"k:" + short:            "16 octets, attendu 32",
		"k:pas-du-base64!":      "pas du base64",
		"k:" + short + ",k:xyz": "16 octets",
	} {
		_, err := ParseKeys(in)
		require.ErrorContains(t, err, want, in)
		require.False(t, len(in) > 3 && strings.Contains(err.Error(), in[2:]), "the secret is not repeated: %v", err)
	}
	dup := "k:" + base64.StdEncoding.EncodeToString(a)
	_, err = ParseKeys(dup + "," + dup)
	require.ErrorContains(t, err, "deux fois")
}
