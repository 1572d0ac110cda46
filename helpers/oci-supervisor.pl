#!/usr/bin/perl
# The OCI runner's supervisor (runners/oci/oci-runtime.ts starts it, directly or through
# oci-prelude.sh). Inputs: runners/step-helper-protocol.ts.
#
# Perl, as for the namespace runner: perl-base is always there. It creates the working directory
# from inside a chroot of the rootfs (so image symlinks resolve inside it, as BuildKit's
# `fs.RootPath` does), becomes a child subreaper, and starts `RUNTIME run --detach`. The
# container's init (the step) is then reparented to the supervisor, which reaps it and so learns
# its exact wait status: `runc run` itself folds a signal into `128 + N`, which cannot be told
# from `exit 137`. The step's overlay exists only in the supervisor's private mount namespace,
# so the host never sees it and it cannot outlive the step, whatever happens to us. It hides
# crun's unwanted cgroup2 mount either way.
#
# argv: cwd uid gid pidfile runtime-argv... (cwd is run from `merged`). Without
# TZB_OVERLAY_MOUNTED (no prelude ran) it enters a private mount namespace and mounts the overlay
# itself.
# fd 3, one line each: `error: ...` (setup failed, exit 125), `runtime-failed N` (the runtime
# exited with N before starting the step: its message is on stderr), `started`, then `exit N` or
# `signal N`. With TZB_FOREGROUND: `started` as the runtime starts, then the runtime's own exit.

# No modules: loading POSIX, or strict, warnings and Fcntl, would cost a noticeable part of a
# step's own overhead (docs/architecture.md, "Helper programs"). Hence syscall numbers (from
# syscalls.pl, which `do` reads without loading a module; TZB_ARCH is uname's machine,
# os.machine()), _exit as exit_group(2), and Linux's F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1.
my $helpers = __FILE__ =~ m{^(.*)/} ? $1 : '.';
my $syscalls = do "$helpers/syscalls.pl";
my $unloaded = $syscalls ? '' : ($@ || "$!");
my $arch = $ENV{TZB_ARCH} // '';
my $sys = $syscalls ? $syscalls->{$arch} : undef;
sub _exit { syscall($sys->{exit_group}, $_[0]); }

my ($cwd, $uid, $gid, $pidfile, @runtime) = @ARGV;
open(my $status, '>&=', 3) or die "tzbuild supervisor: fd 3: $!\n";
{ my $prev = select($status); $| = 1; select($prev); }
sub fail { print $status "error: $_[0]\n"; _exit(125); }
$syscalls or do { chomp $unloaded; print $status "error: loading $helpers/syscalls.pl: $unloaded\n"; exit 125; };
$sys or do { print $status "error: unsupported architecture $arch\n"; exit 125; };
my $flags = fcntl($status, 1, 0) or fail("fcntl: $!");
fcntl($status, 2, $flags | 1) or fail("fcntl: $!");

# Started straight from tzbuild (no prelude): do what setpriv --pdeathsig KILL, unshare --mount
# --propagation private and mount(8) would, without their execs. PR_SET_PDEATHSIG = 1,
# CLONE_NEWNS = 0x20000, MS_REC | MS_PRIVATE = 0x44000. Lowerdirs are relative to
# TZB_LAYERS. syscall() wants writable strings, hence the variables.
unless ($ENV{TZB_OVERLAY_MOUNTED}) {
  syscall($sys->{prctl}, 1, 9, 0, 0, 0) == 0 or fail("PR_SET_PDEATHSIG: $!");
  syscall($sys->{unshare}, 0x20000) == 0 or fail("unshare(CLONE_NEWNS): $!");
  my ($none, $root) = ('none', '/');
  syscall($sys->{mount}, $none, $root, 0, 0x44000, 0) == 0 or fail("making / private: $!");
  chdir($ENV{TZB_LAYERS}) or fail("cannot enter $ENV{TZB_LAYERS}: $!");
  my ($source, $target, $type) = ('overlay', $ENV{TZB_MERGED}, 'overlay');
  my $options = "lowerdir=$ENV{TZB_LOWER},upperdir=$ENV{TZB_UPPER},workdir=$ENV{TZB_WORK},$ENV{TZB_OVERLAY_OPTS}";
  syscall($sys->{mount}, $source, $target, $type, 0, $options) == 0 or fail("mounting overlay: $!");
  chdir($target) or fail("cannot enter $target: $!");
}

# crun on a hybrid cgroup host: cover the cgroup2 mount it refuses with an empty tmpfs, which
# takes the cgroup dir crun still makes there away with this namespace (runtime-binary.ts).
if ($ENV{TZB_HIDE_CGROUP2}) {
  my ($source, $target, $type, $data) = ('tzbuild-hidden', $ENV{TZB_HIDE_CGROUP2}, 'tmpfs', 'size=64k,mode=755');
  syscall($sys->{mount}, $source, $target, $type, 0, $data) == 0 or fail("hiding $target: $!");
}

make_cwd();
syscall($sys->{prctl}, 36, 1, 0, 0, 0) == 0 or fail("PR_SET_CHILD_SUBREAPER: $!");

my $runtime = fork();
defined $runtime or fail("fork: $!");
if ($runtime == 0) {
  # A foreground runtime goes when we go (PR_SET_PDEATHSIG, SIGKILL); recovery stops the container.
  syscall($sys->{prctl}, 1, 9, 0, 0, 0) if $ENV{TZB_FOREGROUND};
  exec { $runtime[0] } @runtime;
  print STDERR "cannot run $runtime[0]: $!\n";
  _exit(127);
}
prime_cgroup_lock() if $ENV{TZB_CGROUP_PRIME};
foreground() if $ENV{TZB_FOREGROUND};
waitpid($runtime, 0);
if ($? != 0) {
  reap_all();
  print $status 'runtime-failed ', ($? & 127 ? 128 + ($? & 127) : $? >> 8), "\n";
  _exit(0);
}
open(my $pf, '<', $pidfile) or fail("reading the runtime's pid file: $!");
my $init = <$pf>; close($pf);
$init = int($init // 0);
$init > 0 or fail('the runtime wrote no pid');
print $status "started\n";

# The step's init was the runtime's child; it is ours now that the runtime has exited.
while (1) {
  my $done = waitpid(-1, 0);
  fail('lost the step process') if $done < 0;
  next if $done != $init;
  my $code = $?;
  if ($code & 127) { print $status 'signal ', ($code & 127), "\n"; }
  else { print $status 'exit ', ($code >> 8), "\n"; }
  last;
}
reap_all();
_exit(0);

sub reap_all { 1 while waitpid(-1, 0) > 0; }

# A container run attached to tzbuild's stdio (TZB_FOREGROUND): `RUNTIME run` without --detach
# relays the terminal and forwards signals, and exits with the container's status (a signal
# folded into 128 + N). The terminal's Ctrl-C and Ctrl-\ reach our process group: they are for
# the container, which the runtime passes them to, not for us.
sub foreground {
  $SIG{INT} = 'IGNORE';
  $SIG{QUIT} = 'IGNORE';
  print $status "started\n";
  waitpid($runtime, 0);
  my $code = $?;
  reap_all();
  if ($code & 127) { print $status 'signal ', ($code & 127), "\n"; }
  else { print $status 'exit ', ($code >> 8), "\n"; }
  _exit(0);
}

# While the runtime loads, a child moves itself into the cgroup it is in, so the runtime's own
# cgroup writes find the kernel's attach lock warm (cgroup-prime.ts). Reaped with the rest.
# sysopen flag 1 is O_WRONLY: never create a file where the cgroup is not.
sub prime_cgroup_lock {
  my $pid = fork();
  return if !defined $pid || $pid != 0;
  if (sysopen(my $procs, $ENV{TZB_CGROUP_PRIME}, 1)) { syswrite($procs, "0\n"); }
  _exit(0);
}

# As BuildKit: a missing working directory is created, owned by the step's user. In a child
# chrooted into the rootfs, so ".." and absolute symlinks cannot lead onto the host.
sub make_cwd {
  return if $cwd eq '/';
  my $pid = fork();
  defined $pid or fail("fork: $!");
  if ($pid == 0) {
    umask 022;
    chroot('.') or fail("chroot: $!");
    chdir('/') or fail("chdir /: $!");
    my $path = '';
    for my $part (grep { length } split m{/}, $cwd) {
      $path .= "/$part";
      next if -d $path;
      mkdir($path, 0755) or -d $path or fail("creating working directory $cwd: $!");
      chown($uid, $gid, $path) or fail("chown $path: $!");
    }
    _exit(0);
  }
  waitpid($pid, 0);
  _exit(125) if $? != 0;
}
