package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

// oaMethods are the operation keys of an OpenAPI path item.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type oaParam struct {
	Ref      string `yaml:"$ref"`
	Name     string `yaml:"name"`
	In       string `yaml:"in"`
	Required bool   `yaml:"required"`
}

type oaOperation struct {
	OperationID string               `yaml:"operationId"`
	Tags        []string             `yaml:"tags"`
	Parameters  []oaParam            `yaml:"parameters"`
	Responses   map[string]yaml.Node `yaml:"responses"`
}

type oaDoc struct {
	OpenAPI string `yaml:"openapi"`
	Info    struct {
		Title   string `yaml:"title"`
		Version string `yaml:"version"`
	} `yaml:"info"`
	Tags []struct {
		Name string `yaml:"name"`
	} `yaml:"tags"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Parameters map[string]oaParam `yaml:"parameters"`
	} `yaml:"components"`
}

// oaOp is one documented operation with the parameters of its path item.
type oaOp struct {
	method, path string
	op           oaOperation
	pathParams   []oaParam
}

func loadOpenAPI(t *testing.T) (oaDoc, []oaOp) {
	t.Helper()
	var doc oaDoc
	if err := yaml.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	var ops []oaOp
	for path, item := range doc.Paths {
		var shared []oaParam
		if n, ok := item["parameters"]; ok {
			if err := n.Decode(&shared); err != nil {
				t.Fatalf("%s: parameters: %v", path, err)
			}
		}
		for key, n := range item {
			if !slices.Contains(oaMethods, key) {
				continue
			}
			var op oaOperation
			if err := n.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", strings.ToUpper(key), path, err)
			}
			ops = append(ops, oaOp{method: strings.ToUpper(key), path: path, op: op, pathParams: shared})
		}
	}
	slices.SortFunc(ops, func(a, b oaOp) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	return doc, ops
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// openAPIPath turns a Gin route path into an OpenAPI path template.
func openAPIPath(ginPath string) string { return ginParam.ReplaceAllString(ginPath, "{$1}") }

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	_, ops := loadOpenAPI(t)
	h := (&Server{Log: slog.New(slog.DiscardHandler)}).Handler()
	engine, ok := h.(*gin.Engine)
	if !ok {
		t.Fatalf("Handler() returned %T, want *gin.Engine", h)
	}

	routes := map[string]bool{}
	for _, r := range engine.Routes() {
		routes[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for _, o := range ops {
		documented[o.method+" "+o.path] = true
	}

	var missing, extra []string
	for r := range routes {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !routes[d] {
			extra = append(extra, d)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("operations in openapi.yaml with no route:\n  %s", strings.Join(extra, "\n  "))
	}
}

var pathTemplateParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	doc, ops := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("info.title and info.version must be set, got %q and %q", doc.Info.Title, doc.Info.Version)
	}
	if len(ops) == 0 {
		t.Fatal("no operations documented")
	}
	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}

	resolve := func(p oaParam) (oaParam, bool) {
		if p.Ref == "" {
			return p, true
		}
		name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
		if !ok {
			return p, false
		}
		q, ok := doc.Components.Parameters[name]
		return q, ok
	}

	ids := map[string]string{}
	for _, o := range ops {
		where := o.method + " " + o.path
		if o.op.OperationID == "" {
			t.Errorf("%s: no operationId", where)
		} else if prev, dup := ids[o.op.OperationID]; dup {
			t.Errorf("%s: operationId %q already used by %s", where, o.op.OperationID, prev)
		} else {
			ids[o.op.OperationID] = where
		}
		if len(o.op.Responses) == 0 {
			t.Errorf("%s: no responses", where)
		}
		if len(o.op.Tags) == 0 {
			t.Errorf("%s: no tags", where)
		}
		for _, tg := range o.op.Tags {
			if !tags[tg] {
				t.Errorf("%s: tag %q is not declared in the top-level tags", where, tg)
			}
		}

		// Operation parameters override path-item ones of the same name
		// and location.
		declared := map[string]oaParam{}
		for _, p := range append(slices.Clone(o.pathParams), o.op.Parameters...) {
			q, ok := resolve(p)
			if !ok {
				t.Errorf("%s: parameter $ref %q does not resolve", where, p.Ref)
				continue
			}
			declared[q.In+":"+q.Name] = q
		}
		inTemplate := map[string]bool{}
		for _, m := range pathTemplateParam.FindAllStringSubmatch(o.path, -1) {
			inTemplate[m[1]] = true
			p, ok := declared["path:"+m[1]]
			if !ok {
				t.Errorf("%s: path parameter {%s} is not declared", where, m[1])
			} else if !p.Required {
				t.Errorf("%s: path parameter {%s} must be required", where, m[1])
			}
		}
		for key, p := range declared {
			if p.In == "path" && !inTemplate[p.Name] {
				t.Errorf("%s: declared path parameter %q (%s) is not in the path", where, p.Name, key)
			}
		}
	}
}

// TestOpenAPIRefsResolve checks that every local $ref points at something.
func TestOpenAPIRefsResolve(t *testing.T) {
	var root any
	if err := yaml.Unmarshal(openAPIDoc, &root); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	lookup := func(ref string) bool {
		var cur any = root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if cur, ok = m[part]; !ok {
				return false
			}
		}
		return true
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					if !strings.HasPrefix(s, "#/") || !lookup(s) {
						t.Errorf("$ref %q does not resolve", s)
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(root)
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	h := (&Server{Log: slog.New(slog.DiscardHandler)}).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.yaml: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("GET /openapi.yaml: Content-Type %q", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDoc) {
		t.Error("GET /openapi.yaml does not serve the embedded document")
	}
}
