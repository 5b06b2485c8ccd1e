/**
 * The `gemini` resource provider plugin: Pulumi's provider gRPC protocol (provider.proto) over the
 * same implementation the dynamic resources call (../impl). It answers what @pulumi/pulumi's Node
 * provider server leaves unimplemented — CheckConfig, DiffConfig, Configure's `args` — and wraps
 * secret outputs itself, since the engine re-marks nothing a secret-accepting provider returns.
 */
import * as grpc from "@grpc/grpc-js";
import * as emptyproto from "google-protobuf/google/protobuf/empty_pb";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as plugproto from "@pulumi/pulumi/proto/plugin_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import { configure, setWarningSink } from "../impl/context";
import { EngineLog, withRequest } from "./engine-log";
import { invokeFunction } from "./functions";
import { CONFIG_KEYS, checkConfig, configSource, configureArgs, Failure } from "./provider-config";
import { kindOf } from "./resources";
import { schemaJson } from "./schema";
import { defined, Props, scrub, secretTexts, unwrapProps, wrapProps } from "./secret-values";

type Call<Req> = grpc.ServerUnaryCall<Req, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

const toJs = (s: structproto.Struct | undefined): Props => (s ? (s.toJavaScript() as Props) : {});
const toStruct = (p: Props) => structproto.Struct.fromJavaScript(defined(p) as Record<string, structproto.JavaScriptValue>);

function failuresOf(failures: Failure[]): provproto.CheckFailure[] {
  return failures.map((f) => {
    const failure = new provproto.CheckFailure();
    failure.setProperty(f.property);
    failure.setReason(f.reason);
    return failure;
  });
}

/** An error the engine shows as is: the message only, never a stack or a value that arrived as a secret. */
function grpcError(err: unknown, secrets: readonly string[]): grpc.ServiceError {
  const message = scrub(err instanceof Error ? err.message : String(err), secrets);
  return Object.assign(new Error(message), { code: grpc.status.UNKNOWN, details: message, metadata: new grpc.Metadata() });
}

type StructGetter = () => structproto.Struct | undefined;
const PROPERTY_GETTERS = ["getNews", "getOlds", "getProperties", "getInputs", "getArgs", "getOldInputs"] as const;

/** The texts of every secret in a request's properties (news, olds, inputs, args…). */
function requestSecrets(request: unknown): string[] {
  const texts: string[] = [];
  for (const getter of PROPERTY_GETTERS) {
    const get = (request as Record<string, StructGetter | undefined>)[getter];
    if (typeof get === "function") texts.push(...secretTexts(toJs(get.call(request))));
  }
  return texts;
}

/** Check and invoke failures never repeat a value that arrived as a secret (the CLI masks them; other hosts might not). */
function scrubFailures(res: unknown, secrets: readonly string[]): void {
  const withFailures = res as { getFailuresList?: () => provproto.CheckFailure[] };
  if (!secrets.length || typeof withFailures?.getFailuresList !== "function") return;
  for (const failure of withFailures.getFailuresList()) failure.setReason(scrub(failure.getReason(), secrets));
}

/** Runs a handler, answering its result or its error; nothing thrown escapes to the process. */
function unary<Req>(handler: (req: Req) => Promise<unknown> | unknown) {
  return (call: Call<Req>, callback: Callback) => {
    const urn = (call.request as { getUrn?: () => string | undefined }).getUrn?.() ?? "";
    const secrets = requestSecrets(call.request);
    withRequest(urn, secrets, () => Promise.resolve().then(() => handler(call.request)))
      .then(
        (res) => {
          scrubFailures(res, secrets);
          callback(null, res);
        },
        (err) => callback(grpcError(err, secrets)),
      );
  };
}

/** What the plugin is: its version and its schema. */
function infoHandlers(version: string) {
  const schema = schemaJson(version);
  return {
    getPluginInfo: unary(() => {
      const info = new plugproto.PluginInfo();
      info.setVersion(version);
      return info;
    }),

    getSchema: unary((req: provproto.GetSchemaRequest) => {
      if (req.getVersion() !== 0) throw new Error(`unsupported schema version ${req.getVersion()}`);
      const res = new provproto.GetSchemaResponse();
      res.setSchema(schema);
      return res;
    }),
  };
}

/** The provider's own configuration (`gemini:` keys). */
function configHandlers() {
  return {
    checkConfig: unary((req: provproto.CheckRequest) => {
      const { inputs, failures } = checkConfig(toJs(req.getNews()));
      const res = new provproto.CheckResponse();
      res.setInputs(toStruct(inputs));
      res.setFailuresList(failuresOf(failures));
      return res;
    }),

    // A changed key, origin or version updates the provider in place: replacing it would replace
    // every webhook it manages, and mint new secrets with them.
    diffConfig: unary((req: provproto.DiffRequest) => {
      const olds = unwrapProps(toJs(req.getOldInputs() ?? req.getOlds())).plain;
      const news = unwrapProps(toJs(req.getNews())).plain;
      const changed = CONFIG_KEYS.filter((k) => (olds[k] ?? null) !== (news[k] ?? null));
      const res = new provproto.DiffResponse();
      res.setChanges(changed.length ? provproto.DiffResponse.DiffChanges.DIFF_SOME : provproto.DiffResponse.DiffChanges.DIFF_NONE);
      res.setDiffsList(changed);
      return res;
    }),

    configure: unary((req: provproto.ConfigureRequest) => {
      const args = req.getArgs();
      if (args) {
        configure(configureArgs(toJs(args)));
      } else {
        // Older engines send only the flattened `variables` (`gemini:config:<key>`), secrets stripped.
        const plain: Props = {};
        req.getVariablesMap().forEach((value, key) => (plain[key.replace(/^gemini:config:/, "")] = value));
        configure(configSource(plain));
      }
      const res = new provproto.ConfigureResponse();
      res.setAcceptsecrets(true);
      res.setAcceptresources(false);
      res.setSupportspreview(false);
      return res;
    }),
  };
}

/** The resources' lifecycle, over the implementation the dynamic resources share. */
function resourceHandlers() {
  return {
    check: unary(async (req: provproto.CheckRequest) => {
      const kind = kindOf(req.getType() || req.getUrn());
      const { plain, secretKeys } = unwrapProps(toJs(req.getNews()));
      const result = await kind.ops.check(unwrapProps(toJs(req.getOlds())).plain, plain);
      const res = new provproto.CheckResponse();
      res.setInputs(toStruct(wrapProps((result.inputs ?? plain) as Props, secretKeys)));
      res.setFailuresList(failuresOf(result.failures ?? []));
      return res;
    }),

    diff: unary(async (req: provproto.DiffRequest) => {
      const kind = kindOf(req.getType() || req.getUrn());
      const olds = unwrapProps(toJs(req.getOlds())).plain;
      const news = unwrapProps(toJs(req.getNews())).plain;
      const result = await kind.ops.diff(req.getId(), olds, news);
      const res = new provproto.DiffResponse();
      const { DIFF_SOME, DIFF_NONE } = provproto.DiffResponse.DiffChanges;
      res.setChanges(result.changes ? DIFF_SOME : DIFF_NONE);
      res.setReplacesList(result.replaces ?? []);
      res.setDeletebeforereplace(result.deleteBeforeReplace ?? false);
      return res;
    }),

    create: unary(async (req: provproto.CreateRequest) => {
      const kind = kindOf(req.getType() || req.getUrn());
      const { plain, secretKeys } = unwrapProps(toJs(req.getProperties()));
      const result = await kind.ops.create(plain);
      const res = new provproto.CreateResponse();
      res.setId(result.id);
      res.setProperties(toStruct(wrapProps(result.outs as Props, [...kind.secretOutputs, ...secretKeys])));
      return res;
    }),

    read: unary(async (req: provproto.ReadRequest) => {
      const kind = kindOf(req.getType() || req.getUrn());
      const props = unwrapProps(toJs(req.getProperties()));
      const inputs = unwrapProps(toJs(req.getInputs()));
      const result = await kind.ops.read(req.getId(), props.plain);
      const res = new provproto.ReadResponse();
      // No id: the resource is gone (refresh drops it; import says it does not exist).
      if (!result.id) return res;
      res.setId(result.id);
      res.setProperties(toStruct(wrapProps(result.props as Props, [...kind.secretOutputs, ...props.secretKeys])));
      if (result.inputs) res.setInputs(toStruct(wrapProps(result.inputs as Props, inputs.secretKeys)));
      return res;
    }),

    update: unary(async (req: provproto.UpdateRequest) => {
      const kind = kindOf(req.getType() || req.getUrn());
      const olds = unwrapProps(toJs(req.getOlds()));
      const news = unwrapProps(toJs(req.getNews()));
      const result = await kind.ops.update(req.getId(), olds.plain, news.plain);
      const res = new provproto.UpdateResponse();
      res.setProperties(toStruct(wrapProps((result.outs ?? olds.plain) as Props, [...kind.secretOutputs, ...news.secretKeys])));
      return res;
    }),

    delete: unary(async (req: provproto.DeleteRequest) => {
      const kind = kindOf(req.getType() || req.getUrn());
      await kind.ops.delete(req.getId(), unwrapProps(toJs(req.getProperties())).plain);
      return new emptyproto.Empty();
    }),
  };
}

export function providerService(version: string, log: EngineLog): grpc.UntypedServiceImplementation {
  setWarningSink(
    (message) => log.warn(message),
    (message) => log.info(message),
  );
  return {
    ...infoHandlers(version),
    ...configHandlers(),
    ...resourceHandlers(),
    invoke: unary(async (req: provproto.InvokeRequest) => {
      // getCurrentSigningSecrets returns secrets whatever the arguments were; lookups keep a secret argument's results secret (functions.ts).
      const args = unwrapProps(toJs(req.getArgs()));
      const { outputs, failures } = await invokeFunction(req.getTok(), args.plain, args.secretKeys.size > 0);
      const res = new provproto.InvokeResponse();
      res.setReturn(toStruct(outputs));
      res.setFailuresList(failuresOf(failures));
      return res;
    }),

    attach: unary((req: plugproto.PluginAttach) => {
      log.connect(req.getAddress());
      return new emptyproto.Empty();
    }),

    cancel: unary(() => new emptyproto.Empty()),
  };
}

/** The largest request the plugin reads; larger ones are refused by gRPC (RESOURCE_EXHAUSTED) before they are decoded. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Serves the provider on a loopback port and returns it; the caller prints it for the engine. */
export async function serve(version: string, engineAddress: string | undefined): Promise<number> {
  const log = new EngineLog(engineAddress);
  // A Webhook's or a SecretRotation's properties are a few kilobytes; 4 MiB (gRPC's own default) fits
  // any real program hundreds of times over and bounds what one request can make the plugin hold
  // (a 64 MiB Check once took it from 113 MiB to a 1.7 GiB peak under the old 400 MiB limit).
  const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_MESSAGE_BYTES });
  server.addService(provrpc.ResourceProviderService as unknown as grpc.ServiceDefinition, providerService(version, log));
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}
