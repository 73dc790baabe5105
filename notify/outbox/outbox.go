// Package outbox is the sender used when no provider is configured: it
// writes each message to a local file instead of sending it, so a clinic
// can try Aftercare without Twilio or SMTP credentials and see exactly what
// would have gone out.
//
// The file is the clinic's own record: one JSON object per line with the
// full recipient and text, readable only by its owner (0600). The log line
// for each message masks the recipient. Nothing is delivered to anyone, and
// the receipt says so: messages end in StatusUndelivered.
//
// Like every sender in notify/*, it imports the domain (the aftercare.Sender
// contract) and never the scheduler or its dispatcher: `go list -deps`
// shows no templates, YAML or cron behind a sender.
package outbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aftercare/aftercare"
)

// Name is the Receipt.Sender of messages written to the outbox.
const Name = "outbox"

// Record is one line of the outbox file.
type Record struct {
	Time        time.Time         `json:"time"`
	Line        int64             `json:"line"` // this record's line number in the file, from 1
	MessageID   int64             `json:"message_id"`
	ClinicID    int64             `json:"clinic_id"`
	Channel     aftercare.Channel `json:"channel"`
	Attempt     int               `json:"attempt"`
	To          string            `json:"to"`
	ToMasked    string            `json:"to_masked"`
	ToName      string            `json:"to_name,omitempty"`
	Subject     string            `json:"subject,omitempty"`
	Body        string            `json:"body"`
	ClinicName  string            `json:"clinic_name,omitempty"`
	ClinicPhone string            `json:"clinic_phone,omitempty"`
	ExpiresAt   *time.Time        `json:"expires_at,omitempty"`
	ProviderID  string            `json:"provider_id"`
	// PageURL is the patient's page link an email carries (Outgoing.PageURL).
	PageURL string `json:"page_url,omitempty"`
}

// Sender appends messages to a file. It is safe for concurrent use; the
// file is opened for each message, so it may be moved or deleted while the
// service runs (a new one is started).
type Sender struct {
	path   string
	logger *slog.Logger

	mu    sync.Mutex
	lines int64 // lines in the file

	// Now stamps records; time.Now unless a test sets it before the first
	// Send.
	Now func() time.Time
}

var _ aftercare.Sender = (*Sender)(nil)

// New returns a Sender writing to path, creating the file (0600) and its
// directory (0700) when missing. A nil logger discards log lines. It
// returns an EINVALID *aftercare.Error when the file cannot be created or
// written.
func New(path string, logger *slog.Logger) (*Sender, error) {
	if strings.TrimSpace(path) == "" {
		return nil, aftercare.FieldErrorf("outbox", "the outbox file path is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, aftercare.FieldErrorf("outbox", "cannot create the outbox directory: %v", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, aftercare.FieldErrorf("outbox", "cannot open the outbox file: %v", err)
	}
	defer f.Close()
	// The file holds patients' data: keep it private even if it existed.
	if err := f.Chmod(0o600); err != nil {
		return nil, aftercare.FieldErrorf("outbox", "cannot make the outbox file private: %v", err)
	}
	n, err := countLines(f)
	if err != nil {
		return nil, aftercare.FieldErrorf("outbox", "cannot read the outbox file: %v", err)
	}
	return &Sender{path: path, logger: logger, lines: n, Now: time.Now}, nil
}

// countLines counts the records in f; a last line without its newline
// (a crash mid-write) counts, and the next record starts on a new line.
func countLines(f *os.File) (int64, error) {
	var n int64
	r := bufio.NewReader(f)
	buf := make([]byte, 32*1024)
	last := byte('\n')
	for {
		k, err := r.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// Path is the file the Sender writes to.
func (s *Sender) Path() string { return s.path }

// StatusText is a receipt's ProviderStatus, which becomes the message's
// error in the delivery log that managers read: it does not name the file
// (the server's log does).
const StatusText = "written to the server's outbox file (AFTERCARE_OUTBOX); not delivered to anyone"

// Send appends m to the file and syncs it to disk. The Receipt's
// ProviderID is "outbox-{MessageID}-{line}", line being the record's line
// number in the file, and its Final status is StatusUndelivered. A failure
// to write is a Transient *aftercare.SendError (nothing was recorded; a
// full disk can be freed).
func (s *Sender) Send(ctx context.Context, m *aftercare.Outgoing) (aftercare.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return aftercare.Receipt{}, fmt.Errorf("%w (%w)", &aftercare.SendError{Kind: aftercare.Transient, Message: "cancelled before writing to the outbox"}, err)
	}
	masked := mask(m)
	rec := Record{
		Time:        s.Now().UTC(),
		MessageID:   m.MessageID,
		ClinicID:    m.ClinicID,
		Channel:     m.Channel,
		Attempt:     m.Attempt,
		To:          m.To,
		ToMasked:    masked,
		ToName:      m.ToName,
		Subject:     m.Subject,
		Body:        m.Body,
		ClinicName:  m.ClinicName,
		ClinicPhone: m.ClinicPhone,
	}
	rec.PageURL = m.PageURL
	if !m.ExpiresAt.IsZero() {
		t := m.ExpiresAt.UTC()
		rec.ExpiresAt = &t
	}

	s.mu.Lock()
	err := s.append(&rec)
	s.mu.Unlock()
	if err != nil {
		// The error names the file; it goes to the log, which only the
		// operator reads. The message's error is shown to managers.
		s.logger.Error("writing to the outbox", "message_id", m.MessageID, "file", s.path, "err", err)
		return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Transient, Message: "the server could not write to its outbox file (the server log says why); it tries again"}
	}

	s.logger.Info("message written to the outbox, not delivered",
		"message_id", m.MessageID, "clinic_id", m.ClinicID, "channel", string(m.Channel),
		"to", masked, "file", s.path, "line", rec.Line)
	return aftercare.Receipt{
		Sender:         Name,
		ProviderID:     rec.ProviderID,
		ProviderStatus: StatusText,
		Final:          aftercare.StatusUndelivered,
	}, nil
}

// append numbers rec, writes it as one line and syncs. Called with s.mu
// held.
func (s *Sender) append(rec *Record) error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() == 0 {
		// The file was moved away or emptied: number from 1 again.
		s.lines = 0
	}
	rec.Line = s.lines + 1
	rec.ProviderID = fmt.Sprintf("outbox-%d-%d", rec.MessageID, rec.Line)
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		// Leave no half line for the next record to run into.
		return errors.Join(err, f.Truncate(st.Size()))
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.lines = rec.Line
	return nil
}

func mask(m *aftercare.Outgoing) string {
	if m.Channel == aftercare.Email || strings.Contains(m.To, "@") {
		return aftercare.MaskEmail(m.To)
	}
	return aftercare.MaskPhone(m.To)
}
