/*
 * The default seccomp profile of wharf's containers, in the runtime-spec's `linux.seccomp` form.
 *
 * Docker's default profile is an allowlist of ~350 syscalls. This one is the complement that matters: every
 * syscall Docker's documentation lists as blocked by default (docs.docker.com "Seccomp security profiles",
 * "Significant syscalls blocked by the default profile") answers EPERM, and, as in Docker's profile, a
 * capability the container holds unlocks the syscalls it guards (`--cap-add SYS_ADMIN` allows mount/unshare…).
 * A new user namespace through clone(2) is refused unless CAP_SYS_ADMIN is held, and clone3 answers
 * ENOSYS so that libc falls back to the filterable clone. Syscalls newer than this list are allowed, where
 * Docker's allowlist would refuse them: the price of a list short enough to read.
 */

const EPERM = 1;
const ENOSYS = 38;

/** Syscalls refused whatever the capabilities (keyrings are not namespaced; the rest is obsolete or kernel-wide). */
const alwaysBlocked = [
  'add_key', 'keyctl', 'request_key', 'userfaultfd', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl',
  'uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
];

/** Syscalls a capability unlocks (moby's profile gates them the same way). */
const blockedUnless: Record<string, readonly string[]> = {
  CAP_SYS_ADMIN: [
    'bpf', 'fanotify_init', 'lookup_dcookie', 'mount', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen', 'fsconfig',
    'fsmount', 'fspick', 'name_to_handle_at', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname',
    'setns', 'umount', 'umount2', 'unshare', 'pivot_root',
  ],
  CAP_SYS_BOOT: ['reboot', 'kexec_load', 'kexec_file_load'],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_madvise'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'move_pages'],
  CAP_SYSLOG: ['syslog'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
};

/**
 * CLONE_NEWUSER (linux/sched.h). Every other namespace flag already needs CAP_SYS_ADMIN, which this rule's
 * containers lack; a user namespace is the one an unprivileged process may create, and inside it the process
 * would hold every capability. One rule instead of Docker's mask over all seven flags: each argument rule costs
 * runc compile time on every start.
 */
const CLONE_NEWUSER = 0x10000000;

/** The native ABI and the compat ones a process could switch to (an empty list means the native one only). */
const architectures: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** The profile for a container holding `capabilities` (`CAP_` names, as the bundle lists them). */
export function seccompProfile(capabilities: readonly string[]): Record<string, unknown> {
  const held = new Set(capabilities);
  const blocked = [...alwaysBlocked, ...Object.entries(blockedUnless).flatMap(([cap, names]) => (held.has(cap) ? [] : names))];
  const syscalls: Record<string, unknown>[] = [{ names: blocked, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  if (!held.has('CAP_SYS_ADMIN')) {
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: 'SCMP_CMP_MASKED_EQ' }],
    });
  }
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: architectures[process.arch] ?? [], syscalls };
}
