// Package payloadcodec encrypts the payloads parcours hands Temporal
// (workflow inputs, update arguments and results, activity inputs and
// outputs, memos, failure details) with AES-256-GCM, so that a Temporal
// cluster run by someone else (or Temporal Cloud) stores only ciphertext.
//
// Keys come from PARCOURS_PAYLOAD_KEYS ("id1:base64,id2:base64"): the
// first encrypts, all decrypt. Each encrypted payload names its key in its
// metadata, so a new key can be put first while the old ones still decrypt
// what was written with them (rotation). See docs/temporal-security.md.
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding is the metadata "encoding" of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID is the metadata entry naming the key that encrypted it.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the size of a key: AES-256.
	KeySize = 32
	// aadPrefix binds the ciphertext to its format and key id.
	aadPrefix = "parcours/payload/v1:"
)

// Key is one named AES-256 key.
type Key struct {
	ID     string
	Secret []byte
}

var keyID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeys reads "id1:base64,id2:base64" (standard base64 of 32 bytes,
// with or without padding). Its errors never repeat a secret.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		id, b64, ok := strings.Cut(part, ":")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("clé n° %d : attendu identifiant:clé_en_base64, l'identifiant en lettres, chiffres, . _ - (64 au plus)", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("clé %q donnée deux fois", id)
		}
		seen[id] = true
		secret, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			secret, err = base64.RawStdEncoding.DecodeString(b64)
		}
		if err != nil {
			return nil, fmt.Errorf("clé %q : pas du base64 (créez-en une avec : openssl rand -base64 32)", id)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("clé %q : %d octets, attendu %d (créez-en une avec : openssl rand -base64 32)", id, len(secret), KeySize)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return keys, nil
}

// Codec is a converter.PayloadCodec encrypting with its first key and
// decrypting with any of them.
type Codec struct {
	first string
	aeads map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New is the codec of keys; the first encrypts.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("aucune clé de chiffrement")
	}
	c := &Codec{first: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("clé %q : %d octets, attendu %d", k.ID, len(k.Secret), KeySize)
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("clé %q donnée deux fois", k.ID)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, err
		}
		if c.aeads[k.ID], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// EncryptingKey is the id of the key that encrypts.
func (c *Codec) EncryptingKey() string { return c.first }

// Encode encrypts each payload whole (metadata and data) under a fresh
// random nonce.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.first]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("chiffrement d'un payload : %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(c.first)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(aadPrefix+c.first)),
		}
	}
	return out, nil
}

// Decode decrypts the encrypted payloads and passes the others through
// (written before encryption was turned on, or by the Temporal server
// itself). A payload altered, or encrypted with a key it does not hold,
// is an error.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("payload chiffré avec la clé %q, absente de PARCOURS_PAYLOAD_KEYS", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("payload chiffré avec la clé %q : tronqué", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(aadPrefix+id))
		if err != nil {
			return nil, fmt.Errorf("payload chiffré avec la clé %q : déchiffrement refusé (altéré, ou autre clé du même nom)", id)
		}
		var dec commonpb.Payload
		if err := proto.Unmarshal(plain, &dec); err != nil {
			return nil, fmt.Errorf("payload chiffré avec la clé %q : %w", id, err)
		}
		out[i] = &dec
	}
	return out, nil
}
