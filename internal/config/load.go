package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxFileSize is the largest config or instruments file read, in bytes.
const MaxFileSize = 4 << 20

// Load reads, decodes and validates the config file at path on the OS file
// system. A venue's instruments_file is resolved against the directory of
// path, unless it is absolute.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, path, osFiles{})
}

// ParseFS reads, decodes and validates the config file name in fsys (an
// embed.FS such as configs.FS, an os.DirFS, a testing/fstest.MapFS). A
// venue's instruments_file is resolved against the directory of name within
// fsys and must stay inside fsys.
func ParseFS(fsys fs.FS, name string) (*Config, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, name, fsFiles{fsys})
}

// Parse decodes and validates the config in data; name labels its errors
// (usually the file name). Parse reads no files, so a venue with an
// instruments_file is an error: use Load or ParseFS for those.
//
// Decoding is strict: a key the schema does not define, a duplicate key, or a
// value of the wrong type is an error with its line and column, as is YAML
// syntax. Validation problems carry the position of the offending field
// too.
func Parse(data []byte, name string) (*Config, error) {
	return parse(data, name, nil)
}

// files is where instruments files are read from.
type files interface {
	// resolve returns the name of the file that ref, written in the config
	// file cfg, refers to.
	resolve(cfg, ref string) (string, error)
	read(name string) ([]byte, error)
}

// osFiles reads the OS file system.
type osFiles struct{}

func (osFiles) resolve(cfg, ref string) (string, error) {
	if filepath.IsAbs(ref) {
		return filepath.Clean(ref), nil
	}
	return filepath.Join(filepath.Dir(cfg), filepath.FromSlash(ref)), nil
}

func (osFiles) read(name string) ([]byte, error) { return os.ReadFile(name) }

// fsFiles reads an fs.FS.
type fsFiles struct{ fsys fs.FS }

func (fsFiles) resolve(cfg, ref string) (string, error) {
	if path.IsAbs(ref) || strings.Contains(ref, `\`) {
		return "", fmt.Errorf("%q: want a slash-separated path relative to the config file", ref)
	}
	name := path.Join(path.Dir(cfg), ref)
	if !fs.ValidPath(name) {
		return "", fmt.Errorf("%q leaves the file system the config was read from", ref)
	}
	return name, nil
}

func (f fsFiles) read(name string) ([]byte, error) { return fs.ReadFile(f.fsys, name) }

// instrumentsFile is the schema of an instruments_file.
type instrumentsFile struct {
	// Instruments lists instruments as in VenueConfig.Instruments.
	Instruments []InstrumentConfig `yaml:"instruments"`
}

// origin says where the instruments from an instruments_file came from, so
// that validation problems with them point into that file.
type origin struct {
	prefix string    // config path of the first such instrument's list: "venues[0].instruments"
	first  int       // index of the first instrument from the file in the venue's list
	n      int       // number of instruments from the file
	file   string    // the instruments file
	pos    *posIndex // positions in it
}

// parse decodes data (the config file name), reads its instruments files
// from fsys (nil: none may be named), and validates the result.
func parse(data []byte, name string, fsys files) (*Config, error) {
	var c Config
	pos, err := decode(data, name, &c)
	if err != nil {
		return nil, err
	}

	var errs errList
	var origins []origin
	for i := range c.Venues {
		vc := &c.Venues[i]
		if vc.InstrumentsFile == "" {
			continue
		}
		fpath := "venues[" + strconv.Itoa(i) + "].instruments_file"
		if fsys == nil {
			errs.add(fpath, "%q: Parse reads no files; use Load or ParseFS", vc.InstrumentsFile)
			continue
		}
		fname, err := fsys.resolve(name, vc.InstrumentsFile)
		if err != nil {
			errs.add(fpath, "%w", err)
			continue
		}
		fdata, err := fsys.read(fname)
		if err != nil {
			errs.add(fpath, "%w", err)
			continue
		}
		var f instrumentsFile
		fpos, err := decode(fdata, fname, &f)
		if err != nil {
			return nil, err
		}
		if len(f.Instruments) == 0 {
			errs.add(fpath, "%s lists no instruments", fname)
			continue
		}
		origins = append(origins, origin{
			prefix: "venues[" + strconv.Itoa(i) + "].instruments",
			first:  len(vc.Instruments),
			n:      len(f.Instruments),
			file:   fname,
			pos:    fpos,
		})
		vc.Instruments = append(vc.Instruments, f.Instruments...)
	}
	if len(errs) == 0 {
		c.setDefaults()
		_, errs = c.build()
	}
	if len(errs) > 0 {
		for _, e := range errs {
			locate(e, name, pos, origins)
		}
		return nil, errs.join()
	}
	return &c, nil
}

// locate fills in the file and position of e from its path.
func locate(e *Error, name string, pos *posIndex, origins []origin) {
	e.File = name
	for _, o := range origins {
		rest, ok := strings.CutPrefix(e.Path, o.prefix+"[")
		if !ok {
			continue
		}
		idx, rest, ok := strings.Cut(rest, "]")
		j, err := strconv.Atoi(idx)
		if !ok || err != nil || j < o.first || j >= o.first+o.n {
			continue
		}
		e.File = o.file
		e.Line, e.Column = o.pos.find("instruments[" + strconv.Itoa(j-o.first) + "]" + rest)
		return
	}
	e.Line, e.Column = pos.find(e.Path)
}

// decode parses one YAML document of data (the file name) strictly into v,
// returning the positions of its fields.
func decode(data []byte, name string, v any) (*posIndex, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: name, Err: fmt.Errorf("%d bytes is more than the %d a config file may hold", len(data), MaxFileSize)}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(name, nil, err)
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			tk := doc.Start // the "---" of the second document
			if tk == nil {
				tk = doc.Body.GetToken()
			}
			e := &Error{File: name, Err: errors.New("more than one YAML document")}
			if tk != nil {
				e.Line, e.Column = tk.Position.Line, tk.Position.Column
			}
			return nil, e
		}
		body = doc.Body
	}
	pos := newPosIndex(body)
	if body == nil {
		return pos, nil
	}
	// Tags have no use in a config, and the YAML library panics on some
	// tagged values (goccy/go-yaml#735): refuse them up front.
	if tk := pos.tag; tk != nil {
		return nil, &Error{File: name, Line: tk.Position.Line, Column: tk.Position.Column, Path: pos.byToken[tk],
			Err: fmt.Errorf("YAML tag %q: tags are not supported in a config", tk.Value)}
	}
	if tk := pos.tooDeep; tk != nil {
		return nil, &Error{File: name, Line: tk.Position.Line, Column: tk.Position.Column,
			Err: fmt.Errorf("nested more than %d levels deep", maxWalkDepth)}
	}
	if err := checkDurations(pos, name); err != nil {
		return nil, err
	}
	if err := yaml.NodeToValue(body, v, yaml.Strict()); err != nil {
		return nil, yamlError(name, pos, err)
	}
	return pos, nil
}

// yamlError turns an error from the YAML library into an *Error with the
// position and, when pos knows it, the path of the offending token.
func yamlError(name string, pos *posIndex, err error) error {
	e := &Error{File: name, Err: err}
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return e
	}
	msg := ye.GetMessage()
	if tk := ye.GetToken(); tk != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
		if pos != nil {
			e.Path = pos.byToken[tk]
		}
		var ue *yaml.UnknownFieldError
		if errors.As(err, &ue) && looksSecret(tk.Value) {
			msg += ": secrets never go in the config, they come from the keystore"
		}
	}
	// Say what the type errors mean in YAML terms rather than Go's.
	var te *yaml.TypeError
	var oe *yaml.OverflowError
	switch {
	case errors.As(err, &te) && te.DstType != nil && te.SrcType != nil:
		msg = "want " + kindName(te.DstType) + ", got " + kindName(te.SrcType)
	case errors.As(err, &oe):
		msg = oe.SrcNum + " is out of range"
	}
	e.Err = errors.New(msg)
	return e
}

// kindName names the YAML kind of value a Go type holds, for messages.
func kindName(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 20s"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	case reflect.Pointer:
		return kindName(t.Elem())
	}
	return t.String()
}

// looksSecret reports whether key names something that must not be in a
// config file.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, s := range [...]string{"secret", "passw", "passphrase", "private", "token", "key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// durationKeys returns the keys of the VenueConfig fields that are
// time.Duration (a test keeps it in step with VenueConfig).
func durationKeys() [5]string {
	return [...]string{"ping_interval", "idle_timeout", "reconnect_min", "reconnect_max", "stale_after"}
}

// checkDurations checks every venue duration before decoding: the YAML
// library reports a malformed duration without its position, so it is
// checked here, where the position is known.
func checkDurations(pos *posIndex, name string) error {
	for i := 0; ; i++ {
		venue := "venues[" + strconv.Itoa(i) + "]"
		if _, ok := pos.nodes[venue]; !ok {
			return nil
		}
		for _, key := range durationKeys() {
			p := venue + "." + key
			n := pos.nodes[p]
			var text string
			switch n := n.(type) {
			case *ast.StringNode:
				text = n.Value
			case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
				text = n.GetToken().Value
			default:
				continue // absent, null, or a type the decoder reports itself
			}
			if _, err := time.ParseDuration(text); err != nil {
				e := &Error{File: name, Path: p, Err: fmt.Errorf("%q is not a duration: want a number with a unit, such as 20s or 100ms", text)}
				e.Line, e.Column = pos.find(p)
				return e
			}
		}
	}
}

// posIndex maps the paths of a YAML document ("venues[0].instruments[1].tick")
// to their positions, and tokens back to paths.
type posIndex struct {
	byPath  map[string]*token.Token // the value's token for scalars, else the key's
	nodes   map[string]ast.Node     // the value node at a path
	byToken map[*token.Token]string // the path of every key and value token
	tag     *token.Token            // the first tag ("!x", "!!str"), if any
	tooDeep *token.Token            // the first node nested past maxWalkDepth, if any
}

func newPosIndex(body ast.Node) *posIndex {
	x := &posIndex{
		byPath:  make(map[string]*token.Token),
		nodes:   make(map[string]ast.Node),
		byToken: make(map[*token.Token]string),
	}
	x.walk(body, "", 0)
	return x
}

// maxWalkDepth bounds the nesting of a document: the schema nests five
// levels (venues, a venue, instruments, an instrument, a field).
const maxWalkDepth = 64

func (x *posIndex) walk(n ast.Node, p string, depth int) {
	if depth > maxWalkDepth {
		if x.tooDeep == nil && n != nil {
			x.tooDeep = n.GetToken()
		}
		return
	}
	n, tag := unwrap(n)
	if tag != nil && x.tag == nil {
		x.tag = tag
	}
	if n == nil {
		return
	}
	if _, ok := x.nodes[p]; !ok {
		x.nodes[p] = n
	}
	switch n := n.(type) {
	case *ast.MappingNode:
		for _, mv := range n.Values {
			x.walkPair(mv, p, depth)
		}
		x.noteToken(n.GetToken(), p)
	case *ast.MappingValueNode:
		x.walkPair(n, p, depth)
	case *ast.SequenceNode:
		for i, v := range n.Values {
			x.walk(v, p+"["+strconv.Itoa(i)+"]", depth+1)
		}
		x.noteToken(n.GetToken(), p)
	default:
		tk := n.GetToken()
		x.noteToken(tk, p)
		x.notePath(p, tk)
	}
}

// walkPair indexes one key: value of the mapping at p. Key tokens are noted
// before anything else, so that a key's token maps to the key's path.
func (x *posIndex) walkPair(mv *ast.MappingValueNode, p string, depth int) {
	if mv == nil || mv.Key == nil {
		return
	}
	ktk := mv.Key.GetToken()
	if ktk == nil {
		return
	}
	child := ktk.Value
	if p != "" {
		child = p + "." + child
	}
	x.notePath(p, ktk) // a mapping is where its first key is
	x.noteToken(ktk, child)
	switch v, _ := unwrap(mv.Value); v.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		x.notePath(child, ktk) // a collection is where its key is
	}
	x.walk(mv.Value, child, depth+1)
	x.notePath(child, ktk) // a value without a token is where its key is
}

// unwrap returns the node under any anchors and tags of n, and the first
// tag's token if there is one.
func unwrap(n ast.Node) (ast.Node, *token.Token) {
	var tag *token.Token
	for i := 0; i < maxWalkDepth; i++ {
		switch a := n.(type) {
		case *ast.AnchorNode:
			n = a.Value
		case *ast.TagNode:
			if tag == nil {
				tag = a.GetToken()
			}
			n = a.Value
		default:
			return n, tag
		}
	}
	return nil, tag
}

func (x *posIndex) notePath(p string, tk *token.Token) {
	if _, ok := x.byPath[p]; !ok && tk != nil {
		x.byPath[p] = tk
	}
}

func (x *posIndex) noteToken(tk *token.Token, p string) {
	if _, ok := x.byToken[tk]; !ok && tk != nil {
		x.byToken[tk] = p
	}
}

// find returns the line and column of the field at p, or of its nearest
// ancestor present in the document (a missing field is reported where its
// parent is), or 0, 0.
func (x *posIndex) find(p string) (line, col int) {
	for p != "" {
		if tk, ok := x.byPath[p]; ok {
			return tk.Position.Line, tk.Position.Column
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0, 0
}

// Decode parses the YAML document data (the file name, for messages)
// strictly into v: the same rules as the engine config (unknown and
// duplicate keys, wrong types, tags and multiple documents are errors with
// their line and column). Other config schemas (the simulated venues')
// use it so that every file arbmm reads behaves alike.
func Decode(data []byte, name string, v any) error {
	_, err := decode(data, name, v)
	return err
}
