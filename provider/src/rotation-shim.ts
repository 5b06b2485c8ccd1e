/**
 * The serialized provider of `SecretRotation`. The module's exports are the provider itself, so an
 * installed package is stored in state by reference (see shim.ts).
 */
import { shimFor } from "./shim";

export = shimFor("rotationProvider");
