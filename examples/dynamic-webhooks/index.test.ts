/**
 * A unit test of this stack's wiring with Pulumi's mocks: no engine, no Docker, no API calls.
 * Copy it next to your own stack (it needs jest, ts-jest and @types/jest) and run `npx jest`.
 */
import * as pulumi from "@pulumi/pulumi";
import { jwksAddress } from "./jwks-address";

const registered: { type: string; inputs: Record<string, unknown> }[] = [];

function settled<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

beforeAll(async () => {
  process.env.PULUMI_CONFIG = JSON.stringify({
    "gemini-dynamic-webhooks:port": "9124",
    "gemini-dynamic-webhooks:geminiOrigin": "https://gemini.example.com",
  });
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = "sha256:" + "cd".repeat(32);
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gemini-dynamic-webhooks",
    "test",
    false,
  );
  const outputs = require("./index") as Record<string, pulumi.Output<unknown>>;
  await settled(outputs.containerName);
});

test("the receiver checks JWTs against the Gemini JWKS, with its own public URL as the audience", () => {
  const container = registered.find((r) => r.type === "docker:index/container:Container")!;
  expect(container.inputs.envs).toEqual(
    expect.arrayContaining([
      "JWKS_URI=https://gemini.example.com/.well-known/jwks.json",
      "JWT_ISSUER=https://gemini.example.com",
      "JWT_AUDIENCE=http://127.0.0.1:9124/webhooks/gemini/dynamic",
    ]),
  );
  expect(container.inputs.hosts).toEqual([]);
  expect(container.inputs.image).toBe("sha256:" + "cd".repeat(32));
  expect(container.inputs.ports).toEqual([{ internal: 8080, external: 9124, ip: "127.0.0.1" }]);
});

test("an emulator on the Docker host's loopback is reached through the host gateway, over http by explicit opt-in", () => {
  expect(jwksAddress("http://127.0.0.1:8089")).toEqual({
    jwksUri: "http://host.docker.internal:8089/.well-known/jwks.json",
    hosts: [{ host: "host.docker.internal", ip: "host-gateway" }],
    env: ["JWKS_ALLOW_HTTP=true"],
  });
  expect(jwksAddress("http://localhost:8089").jwksUri).toBe("http://host.docker.internal:8089/.well-known/jwks.json");
  expect(jwksAddress("https://generativelanguage.googleapis.com")).toEqual({
    jwksUri: "https://generativelanguage.googleapis.com/.well-known/jwks.json",
    hosts: [],
    env: [],
  });
  expect(jwksAddress("http://127.0.0.1:8089", "http://10.1.2.3:8089/keys").jwksUri).toBe("http://10.1.2.3:8089/keys");
});
