/**
 * Deploys a TypeScript example copied out of the repository (already `npm install`ed and built)
 * through the real Pulumi engine with the Automation API of the copy's own @pulumi/pulumi: its inline
 * program is the copy's built main. Prints one JSON line per step — by default up, up-again, rotate,
 * destroy; or the steps named after the arguments (up, preview, rotate, destroy), the stack kept in
 * the backend between runs.
 *
 * Usage: node run-ts-example.js <copy-dir> <work-dir> <pulumi-home> <base-url> [step …]   (API key: GEMINI_API_KEY)
 */
const { join } = require("node:path");
const { mkdirSync, readFileSync } = require("node:fs");

const [copy, workDir, pulumiHome, baseUrl, ...named] = process.argv.slice(2);
const STEPS = named.length ? named : ["up", "up-again", "rotate", "destroy"];
const { LocalWorkspace } = require(join(copy, "node_modules", "@pulumi", "pulumi", "automation"));
const manifest = JSON.parse(readFileSync(join(copy, "package.json"), "utf8"));
const main = join(copy, manifest.main);

async function run() {
  mkdirSync(workDir, { recursive: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    {
      stackName: "dev",
      projectName: manifest.name,
      program: async () => {
        // Each update runs the program afresh, as `pulumi up` would.
        for (const key of Object.keys(require.cache)) if (key.startsWith(join(copy, "bin"))) delete require.cache[key];
        return require(main);
      },
    },
    {
      workDir,
      pulumiHome,
      projectSettings: { name: manifest.name, runtime: "nodejs", main: copy, backend: { url: `file://${workDir}` } },
      envVars: {
        PULUMI_CONFIG_PASSPHRASE: "ts-example",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // The dynamic-provider plugin ships inside @pulumi/pulumi; the Node.js language host would point
        // the engine at it, and without that host, PATH does.
        PATH: `${join(copy, "node_modules", "@pulumi", "pulumi")}:${process.env.PATH}`,
      },
    },
  );
  await stack.setConfig("gemini:baseUrl", { value: baseUrl });
  await stack.setConfig("gemini:apiKey", { value: process.env.GEMINI_API_KEY, secret: true });
  const step = async (name, changes) => {
    const outputs = Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, { value: v.value, secret: v.secret }]));
    console.log(JSON.stringify({ step: name, changes, outputs }));
  };
  for (const name of STEPS) {
    if (name === "preview") {
      await step(name, (await stack.preview()).changeSummary);
      continue;
    }
    if (name === "rotate") await stack.setConfig("rotationKey", { value: "2026-12" });
    const result = name === "destroy" ? await stack.destroy() : await stack.up();
    await step(name, result.summary.resourceChanges ?? {});
  }
}

run().catch((err) => {
  console.error(err);
  process.exit(1);
});
