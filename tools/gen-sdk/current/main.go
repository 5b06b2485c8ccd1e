// Command gen-sdk generates the Node.js, Python and Go SDKs with the code generators of the Pulumi
// release the project's CLI is built from (see ../sdkgen).
//
// Usage: gen-sdk <schema.json> <out-dir> nodejs|python|go ...
package main

import (
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	pythongen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"

	"gemini-webhooks/tools/gen-sdk/sdkgen"
)

func main() {
	sdkgen.Main(map[string]sdkgen.Generator{
		"nodejs": func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
			return nodejsgen.GeneratePackage(sdkgen.Tool, pkg, nil, nil, false, loader)
		},
		"python": func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
			return pythongen.GeneratePackage(sdkgen.Tool, pkg, nil, loader)
		},
		"go": func(pkg *schema.Package, _ schema.ReferenceLoader) (map[string][]byte, error) {
			return gogen.GeneratePackage(sdkgen.Tool, pkg, nil)
		},
	})
}
