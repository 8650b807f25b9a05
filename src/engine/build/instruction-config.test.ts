import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BuildArgs } from './build-args.ts';
import { parseInstruction } from './dockerfile-parser.ts';
import { applyMetadata, workdirOf } from './instruction-config.ts';
import type { StageState } from './stage-state.ts';

const stage = (): StageState => ({ image: 'sha256:x', config: { Env: ['PATH=/bin', 'HOME=/root'] }, maintainer: '', cmdSet: false, args: new BuildArgs({}, new Map()).forStage(), escape: '\\' });
const apply = (state: StageState, line: string) => applyMetadata(state, parseInstruction(line)).comment;

test('metadata steps change the config and name it as moby’s history does', () => {
  const state = stage();
  assert.equal(apply(state, 'env HOME=/srv X="a b"'), 'ENV HOME=/srv X=a b');
  assert.deepEqual(state.config.Env, ['PATH=/bin', 'HOME=/srv', 'X=a b']);
  assert.equal(apply(state, 'ENV Y ${HOME:-none}/y'), 'ENV Y=/srv/y');
  assert.equal(apply(state, 'LABEL k="$X" other=1'), 'LABEL k=a b other=1');
  assert.equal(apply(state, 'CMD echo hi'), 'CMD ["/bin/sh" "-c" "echo hi"]');
  assert.equal(apply(state, 'ENTRYPOINT ["run"]'), 'ENTRYPOINT ["run"]');
  assert.deepEqual(state.config.Cmd, ['/bin/sh', '-c', 'echo hi'], 'a CMD of the stage survives a later ENTRYPOINT');
  assert.equal(apply(state, 'EXPOSE 80 8000-8001/udp'), 'EXPOSE 80 8000-8001/udp');
  assert.deepEqual(Object.keys(state.config.ExposedPorts ?? {}), ['80/tcp', '8000/udp', '8001/udp']);
  assert.equal(apply(state, 'VOLUME ["/data", "/logs"]'), 'VOLUME [/data /logs]');
  assert.equal(apply(state, 'HEALTHCHECK --interval=5s --retries=3 CMD true'), `HEALTHCHECK &{["CMD-SHELL" "true"] "5s" "0s" "0s" '\\x03'}`);
  assert.equal(apply(state, 'ONBUILD RUN echo x'), 'ONBUILD RUN echo x');
  assert.equal(apply(state, 'MAINTAINER Jane <j@x>'), 'MAINTAINER Jane <j@x>');
  assert.equal(state.maintainer, 'Jane <j@x>');
  assert.equal(apply(state, 'ARG A B=2'), 'ARG A B=2');
  assert.throws(() => apply(state, 'STOPSIGNAL SIGBOGUS'), /Invalid signal: SIGBOGUS/);
  state.config.WorkingDir = '/srv';
  assert.equal(workdirOf(state, parseInstruction('WORKDIR app/$X')), '/srv/app/a b');
});
