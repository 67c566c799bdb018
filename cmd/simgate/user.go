package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/gateway/access"
	"github.com/simgate/simgate/store"
)

// demoAdmin is the console user simgate demo creates.
const demoAdmin = "admin"

// runUser handles "simgate user add". Like token create, it opens the
// database directly, so the first user can be made before the first start.
// The password comes from stdin: typed at a prompt (not echoed) on a
// terminal, or piped (first line) from a script.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const usage = `usage: simgate user add --data DIR --name NAME   (the password is read from stdin)`
	if len(args) == 0 || args[0] != "add" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	data := fs.String("data", "", "data directory (holds simgate.db)")
	name := fs.String("name", "", "the user's login name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required")
	}
	if err := store.ValidUserName(*name); err != nil {
		return fmt.Errorf("--%w", err)
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	// Creating the directory (openStore) lets the first user be made
	// before the first start.
	db, err := openStore(*data, false, store.DefaultStartCheckBytes)
	if err != nil {
		return err
	}
	defer db.Close()
	gw, err := gateway.New(db, gateway.Config{})
	if err != nil {
		return err
	}
	if err := gw.Access().AddUser(*name, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "user %s added\n", *name)
	return nil
}

// readPassword reads one line. On a terminal it prompts twice with echo
// off; piped input is taken as is (without the line end).
func readPassword(stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if old, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			return promptPassword(f, old, prompt)
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func promptPassword(f *os.File, old *unix.Termios, prompt io.Writer) (string, error) {
	fd := int(f.Fd())
	noEcho := *old
	noEcho.Lflag &^= unix.ECHO
	noEcho.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
		return "", fmt.Errorf("terminal: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	r := bufio.NewReader(f)
	ask := func(p string) (string, error) {
		fmt.Fprint(prompt, p)
		line, err := r.ReadString('\n')
		fmt.Fprintln(prompt)
		return strings.TrimRight(line, "\r\n"), err
	}
	pw, err := ask(fmt.Sprintf("Password (at least %d characters): ", access.MinPasswordLen))
	if err != nil {
		return "", err
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords differ")
	}
	return pw, nil
}

// createDemoAdmin gives the console user "admin" a fresh random password
// and returns it, for simgate demo to print once. An existing admin (a
// reused demo data dir) gets the new password and loses its old sessions.
func createDemoAdmin(db *store.DB) (password string, err error) {
	gw, err := gateway.New(db, gateway.Config{})
	if err != nil {
		return "", err
	}
	password = strings.ToLower(rand.Text()[:20]) // 100 bits, no look-alike 0/O 1/l
	switch err := gw.Access().AddUser(demoAdmin, password); {
	case err == nil:
		return password, nil
	case strings.Contains(err.Error(), "already exists"):
		return password, gw.Access().SetPassword(demoAdmin, password)
	default:
		return "", err
	}
}
