package input

import "github.com/metlog/metlog"

// Fields the inputs set from what they verified about a message's source.
// Matchers select on them (Fields[signer] == 'billing'); a field of either
// name that a sender wrote itself is removed, so that neither can be
// forged by whoever can reach an input.
const (
	// FieldTLSClient is the verified TLS client certificate's name (see
	// ClientName), on inputs with client_ca_file.
	FieldTLSClient = "tls_client"
	// FieldSigner is the signer of a Heka record whose signature verified
	// against the input's keys.
	FieldSigner = "signer"
	// FieldSource is the source an HTTP ingest token belongs to.
	FieldSource = "ingest_source"
)

// Identify removes the identity fields m arrived with (all three) and adds
// the ones given that are not empty.
func Identify(m *metlog.Message, tlsClient, signer string) {
	for i := range m.Fields {
		if reserved(m.Fields[i].Name) {
			strip(m)
			break
		}
	}
	if tlsClient != "" {
		m.Fields = append(m.Fields, metlog.String(FieldTLSClient, tlsClient))
	}
	if signer != "" {
		m.Fields = append(m.Fields, metlog.String(FieldSigner, signer))
	}
}

// IdentityField reports whether name is one of the fields Identify sets,
// which a sender's message may not carry.
func IdentityField(name []byte) bool { return reserved(string(name)) }

func reserved(name string) bool {
	return name == FieldTLSClient || name == FieldSigner || name == FieldSource
}

// strip removes the identity fields of m, keeping the order of the others.
func strip(m *metlog.Message) {
	fs := m.Fields[:0]
	for _, f := range m.Fields {
		if !reserved(f.Name) {
			fs = append(fs, f)
		}
	}
	clear(m.Fields[len(fs):])
	m.Fields = fs
}
