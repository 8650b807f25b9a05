import { z } from 'zod';
import { goBool, goString, goStrings, goStruct, goUintPair } from './go-json.ts';
import { qUint32 } from './query-schema.ts';
import type { RouteSchema } from './router.ts';

/** POST /containers/{id}/exec: container.ExecOptions. */
const execCreateBody = goStruct('container.ExecOptions', {
  User: goString(),
  Privileged: goBool(),
  Tty: goBool(),
  ConsoleSize: goUintPair(),
  AttachStdin: goBool(),
  AttachStdout: goBool(),
  AttachStderr: goBool(),
  DetachKeys: goString(),
  Env: goStrings(),
  WorkingDir: goString(),
  Cmd: goStrings(),
});

/** POST /exec/{id}/start: container.ExecStartOptions (the hijacked start reads it off the socket itself). */
export const execStartBody = goStruct('container.ExecStartOptions', {
  Detach: goBool(),
  Tty: goBool(),
  ConsoleSize: goUintPair(),
});

/** One schema per exec endpoint (exec-routes.ts). */
export const execSchemas = {
  create: { body: execCreateBody },
  start: { body: execStartBody },
  resize: { query: z.object({ h: qUint32('resize height'), w: qUint32('resize width') }) },
} satisfies Record<string, RouteSchema>;
