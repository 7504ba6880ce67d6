// Package backup takes a consistent snapshot of Redis through the
// replication protocol (the primary forks and streams an RDB, as it does
// for a new replica) and prepares an empty data directory from one. The
// snapshot is point-in-time: every Lua script either is in it whole or
// not at all, so a restored ledger balances.
package backup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Magic starts every RDB file.
const Magic = "REDIS"

// Source says where and as whom to connect; the user must be allowed SYNC
// (the default user is).
type Source struct {
	URL, Username, Password string
	// Timeout bounds the dial and every read: a primary forking a large
	// dataset sends newline keepalives meanwhile, so it is not the total.
	Timeout time.Duration
}

// Take streams one snapshot from src into w and returns its size.
func Take(ctx context.Context, src Source, w io.Writer) (int64, error) {
	if src.Timeout <= 0 {
		src.Timeout = 30 * time.Second
	}
	if strings.HasPrefix(src.URL, "rediss:") {
		// The RDB is read from the TCP socket under redigo; with TLS that
		// socket carries ciphertext.
		return 0, errors.New("backup: rediss:// (TLS) is not supported")
	}
	var raw net.Conn
	d := net.Dialer{Timeout: src.Timeout}
	opts := []redis.DialOption{
		redis.DialConnectTimeout(src.Timeout), redis.DialReadTimeout(src.Timeout), redis.DialWriteTimeout(src.Timeout),
		// Keep the socket: after the login redigo's RESP reader has nothing
		// buffered, and the RDB that follows SYNC is not a RESP reply.
		redis.DialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			raw = c
			return c, err
		}),
	}
	if src.Password != "" {
		opts = append(opts, redis.DialPassword(src.Password))
	}
	if src.Username != "" {
		opts = append(opts, redis.DialUsername(src.Username))
	}
	c, err := redis.DialURLContext(ctx, src.URL, opts...)
	if err != nil {
		return 0, fmt.Errorf("backup: connecting to redis: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()
	// Announce that the $EOF framing is understood, so that a primary
	// with repl-diskless-sync (Redis 7's default) streams the RDB from its
	// fork straight to us instead of writing it to its own disk first.
	if _, err := c.Do("REPLCONF", "capa", "eof"); err != nil {
		return 0, fmt.Errorf("backup: REPLCONF: %w", err)
	}
	if _, err := raw.Write([]byte("SYNC\r\n")); err != nil {
		return 0, fmt.Errorf("backup: SYNC: %w", err)
	}
	return Read(&deadlineReader{raw, src.Timeout}, w)
}

// deadlineReader extends the read deadline before every read.
type deadlineReader struct {
	c       net.Conn
	timeout time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.c.SetReadDeadline(time.Now().Add(d.timeout))
	return d.c.Read(p)
}

// Read parses the primary's answer to SYNC from r: newline keepalives,
// then either "$<len>\r\n" and len bytes, or the diskless form
// "$EOF:<40-byte mark>\r\n", the bytes, and the mark. It copies the RDB to
// w, checks that it starts with the RDB magic, and returns its size.
func Read(r io.Reader, w io.Writer) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line string
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("backup: waiting for the snapshot: %w", err)
		}
		if b == '\n' { // keepalive while the primary forks and saves
			continue
		}
		if err := br.UnreadByte(); err != nil {
			return 0, err
		}
		if line, err = br.ReadString('\n'); err != nil {
			return 0, fmt.Errorf("backup: reading the snapshot header: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		break
	}
	if strings.HasPrefix(line, "-") {
		return 0, fmt.Errorf("backup: redis refused SYNC: %s", line[1:])
	}
	if !strings.HasPrefix(line, "$") {
		return 0, fmt.Errorf("backup: unexpected answer to SYNC: %.80q", line)
	}
	mw := &magicWriter{w: w}
	var n int64
	var err error
	if mark, ok := strings.CutPrefix(line, "$EOF:"); ok {
		if len(mark) != 40 {
			return 0, fmt.Errorf("backup: diskless header with a %d-byte mark, want 40", len(mark))
		}
		n, err = copyUntil(mw, br, []byte(mark))
	} else {
		size, perr := strconv.ParseInt(line[1:], 10, 64)
		if perr != nil || size < 0 {
			return 0, fmt.Errorf("backup: bad snapshot length %q", line)
		}
		n, err = io.CopyN(mw, br, size)
	}
	if err != nil {
		return n, fmt.Errorf("backup: reading the snapshot: %w", err)
	}
	return n, mw.check()
}

// copyUntil copies r to w until mark, which it does not copy. The mark may
// straddle two reads, so the last len(mark)-1 bytes are held back.
func copyUntil(w io.Writer, r io.Reader, mark []byte) (int64, error) {
	var n int64
	buf := make([]byte, 0, 128<<10)
	chunk := make([]byte, 64<<10)
	for {
		k, err := r.Read(chunk)
		buf = append(buf, chunk[:k]...)
		if i := bytes.Index(buf, mark); i >= 0 {
			m, werr := w.Write(buf[:i])
			return n + int64(m), werr
		}
		if keep := len(mark) - 1; len(buf) > keep {
			m, werr := w.Write(buf[:len(buf)-keep])
			n += int64(m)
			if werr != nil {
				return n, werr
			}
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
}

// magicWriter remembers the first bytes written so the RDB magic can be
// checked without reading the file again.
type magicWriter struct {
	w    io.Writer
	head []byte
}

func (m *magicWriter) Write(p []byte) (int, error) {
	if need := len(Magic) - len(m.head); need > 0 {
		m.head = append(m.head, p[:min(need, len(p))]...)
	}
	return m.w.Write(p)
}

func (m *magicWriter) check() error {
	if string(m.head) != Magic {
		return fmt.Errorf("backup: the snapshot does not start with %q (got %q): not an RDB", Magic, m.head)
	}
	return nil
}

// ToFile takes a snapshot into path atomically: a temporary file in the
// same directory, synced, then renamed, so path is either the old file or
// a whole new snapshot, never half of one.
func ToFile(ctx context.Context, src Source, path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	n, err := Take(ctx, src, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// prefix and suffix name the files ToDir writes; the UTC time in between
// sorts like the time, so the newest are the last by name.
const prefix, suffix = "bank-", ".rdb"

// FileName is the name ToDir gives a snapshot taken at t.
func FileName(t time.Time) string {
	return prefix + t.UTC().Format("20060102T150405Z") + suffix
}

// ToDir takes a snapshot into dir as bank-<UTC time>.rdb, then deletes all
// but the newest keep snapshots (keep <= 0 deletes none). It returns the
// new file's path and the paths deleted.
func ToDir(ctx context.Context, src Source, dir string, keep int, now time.Time) (string, []string, error) {
	path := filepath.Join(dir, FileName(now))
	if _, err := ToFile(ctx, src, path); err != nil {
		return "", nil, err
	}
	deleted, err := Prune(dir, keep)
	return path, deleted, err
}

// Prune deletes all but the newest keep snapshots ToDir wrote in dir;
// other files are not touched.
func Prune(dir string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, suffix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var deleted []string
	for _, n := range names[:max(0, len(names)-keep)] {
		p := filepath.Join(dir, n)
		if err := os.Remove(p); err != nil {
			return deleted, err
		}
		deleted = append(deleted, p)
	}
	return deleted, nil
}

// ErrNotEmpty is returned by Restore for a data directory with files in it.
var ErrNotEmpty = errors.New("data directory is not empty")

// Restore prepares dataDir (created when missing, refused when not empty)
// from the snapshot in: it copies it as dataDir/dump.rdb, which
// redis-server started with --dir dataDir --dbfilename dump.rdb
// --appendonly no loads. With AOF on, redis-server would ignore the RDB.
func Restore(in, dataDir string) (string, error) {
	f, err := os.Open(in)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(Magic))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != Magic {
		return "", fmt.Errorf("restore: %s does not start with %q: not an RDB", in, Magic)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("restore: %s: %w (%d entries, e.g. %s); restore only into a fresh one", dataDir, ErrNotEmpty, len(entries), entries[0].Name())
	}
	dst := filepath.Join(dataDir, "dump.rdb")
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(out, f)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("restore: %w", err)
	}
	return dst, syncDir(dataDir)
}
