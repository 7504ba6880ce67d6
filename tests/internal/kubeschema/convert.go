// Package kubeschema turns the Kubernetes OpenAPI v2 document and
// CustomResourceDefinitions into the standalone, strict JSON schemas that
// kubeconform reads from a folder. Standalone: every $ref is inlined, so
// a schema file needs nothing else. Strict: an object that lists its
// properties and says nothing about others rejects unknown fields, which is
// how a typo such as `readinesProbe` gets caught.
package kubeschema

import (
	"fmt"
	"strings"
)

// Definitions whose swagger type ("string") is narrower than what the API
// server accepts.
const (
	intOrStringDef = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantityDef    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
)

// keywords copied as they are: validation keywords that mean the same in
// OpenAPI (v2 and the v3 subset CRDs use) and JSON Schema draft 4, which is
// kubeconform's default draft. description, default, example and format
// are left out: they do not validate (formats in OpenAPI are partly
// Kubernetes' own and would be asserted wrongly), and they bloat the files.
var keywords = []string{
	"required", "enum", "pattern", "minimum", "maximum", "exclusiveMinimum",
	"exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems",
	"maxItems", "uniqueItems", "minProperties", "maxProperties",
}

// converter inlines references against defs, the swagger definitions
// (CRDs refer to them only for ObjectMeta).
type converter struct {
	defs  map[string]any
	stack map[string]bool
}

// convert returns the JSON schema for one OpenAPI schema node.
func (c *converter) convert(node map[string]any) (map[string]any, error) {
	if ref, ok := node["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		switch name {
		case intOrStringDef:
			return map[string]any{"type": []any{"integer", "string"}}, nil
		case quantityDef:
			// "1", 1 and 0.5 are all quantities once YAML has typed them.
			return map[string]any{"type": []any{"number", "string"}}, nil
		}
		def, ok := c.defs[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("unresolved reference %q", ref)
		}
		// JSONSchemaProps (inside CustomResourceDefinition) contains itself.
		// A standalone schema cannot be infinite: the inner occurrence
		// accepts any value, the outer levels stay checked.
		if c.stack[name] {
			return map[string]any{}, nil
		}
		c.stack[name] = true
		defer delete(c.stack, name)
		return c.convert(def)
	}

	out := map[string]any{}
	for _, k := range keywords {
		if v, ok := node[k]; ok {
			out[k] = v
		}
	}

	if t, ok := node["type"]; ok {
		out["type"] = t
	}
	if node["format"] == "int-or-string" || node["x-kubernetes-int-or-string"] == true {
		out["type"] = []any{"integer", "string"}
	}
	if node["nullable"] == true {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		} else if ts, ok := out["type"].([]any); ok {
			out["type"] = append(ts, "null")
		}
		if e, ok := out["enum"].([]any); ok {
			out["enum"] = append(e, nil)
		}
	}

	if props, ok := node["properties"].(map[string]any); ok {
		outProps := map[string]any{}
		for name, p := range props {
			pm, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("property %q is not a schema", name)
			}
			s, err := c.convert(pm)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			outProps[name] = s
		}
		out["properties"] = outProps
	}

	if ap, ok := node["additionalProperties"].(bool); ok {
		out["additionalProperties"] = ap
	}
	// Sub-schemas: one, or (items, allOf, anyOf, oneOf) a list of them.
	for _, k := range []string{"additionalProperties", "items", "allOf", "anyOf", "oneOf", "not"} {
		switch sub := node[k].(type) {
		case map[string]any:
			s, err := c.convert(sub)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = s
		case []any:
			var list []any
			for _, it := range sub {
				im, ok := it.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: not a schema", k)
				}
				s, err := c.convert(im)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				list = append(list, s)
			}
			out[k] = list
		}
	}

	// An int-or-string written by controller-gen carries
	// anyOf [{type: integer}, {type: string}]; the union type says it all.
	if node["x-kubernetes-int-or-string"] == true {
		delete(out, "anyOf")
	}

	preserve := node["x-kubernetes-preserve-unknown-fields"] == true
	_, hasAP := out["additionalProperties"]
	if _, hasProps := out["properties"]; hasProps && !hasAP && !preserve {
		out["additionalProperties"] = false
	}
	return out, nil
}
