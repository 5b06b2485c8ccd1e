// Command gen-sdk-dotnet generates the .NET SDK. The .NET generator left pulumi/pulumi's pkg module
// after v3.206.0 (for the pulumi-dotnet repository, whose modules the proxy does not serve), so this
// build takes it from v3.206.0 (see ../sdkgen).
//
// Usage: gen-sdk-dotnet <schema.json> <out-dir> dotnet
package main

import (
	dotnetgen "github.com/pulumi/pulumi/pkg/v3/codegen/dotnet"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"

	"gemini-webhooks/tools/gen-sdk/sdkgen"
)

func main() {
	sdkgen.Main(map[string]sdkgen.Generator{
		"dotnet": func(pkg *schema.Package, _ schema.ReferenceLoader) (map[string][]byte, error) {
			return dotnetgen.GeneratePackage(sdkgen.Tool, pkg, nil, nil)
		},
	})
}
