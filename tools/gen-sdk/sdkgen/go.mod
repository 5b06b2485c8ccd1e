module gemini-webhooks/tools/gen-sdk/sdkgen

go 1.25
