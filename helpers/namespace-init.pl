#!/usr/bin/perl
# The Perl half of the namespace runner: the init process of the step's pid namespace, started by
# namespace-setup.sh. Inputs: runners/step-helper-protocol.ts.
#
# Why Perl: after pivot_root no host binary can be started any more (their loaders and libraries
# are gone with the host root), so the last steps (detaching the host root, creating the working
# directory, dropping to the step's user and exec) must happen inside one process that is already
# loaded. perl-base is Essential on Debian, so it is always there; no compiled helper is needed.
# Every module, and the syscall table, is loaded before the host root disappears.
#
# It stays as pid 1 (reaping orphans) and runs the step as its child, so the step gets ordinary
# signal semantics and its exit status, including a fatal signal, is reported exactly.
#
# argv: uid gid groups(comma-separated) cwd network capLastCap envCount env... argv...
# fd 3: `error: ...` for setup failures (exit 125), `started` once the step runs, `signal N` when
# the step died of signal N.
use strict; use warnings;
use POSIX (); use Socket (); use Errno (); use Fcntl qw(F_GETFD F_SETFD FD_CLOEXEC);

my ($uid, $gid, $groups, $cwd, $net, $lastCap, $nenv, @rest) = @ARGV;
open(my $status, '>&=', 3) or die "tzbuild init: fd 3: $!\n";
{ my $prev = select($status); $| = 1; select($prev); }
sub fail { print $status "error: $_[0]\n"; POSIX::_exit(125); }
close_inherited_fds();

my @env = splice(@rest, 0, $nenv);
my @argv = @rest;
@argv or fail('no command to run');
umask 022;

# Syscall numbers (syscalls.pl, next to this file), loaded while the host root is still there.
my $helpers = __FILE__ =~ m{^(.*)/} ? $1 : '.';
my $syscalls = do "$helpers/syscalls.pl" or fail("loading $helpers/syscalls.pl: " . ($@ || $!));
my $arch = (POSIX::uname())[4];
my $sys = $syscalls->{$arch} or fail("unsupported architecture $arch");

# Still in the host's root, cwd = the merged rootfs: the mounts every step gets, then the step's own.
system_mounts($ENV{TZB_MERGED});
if (length($ENV{TZB_MOUNTS} // '')) {
  system('/bin/sh', "$helpers/step-mounts.sh") == 0 or POSIX::_exit(125);
}

loopback_up() if $net eq 'none';

# pivot_root(".", ".") stacks the host root on top of the new one; detaching it leaves only ours.
my ($new, $old) = ('.', '.');
syscall($sys->{pivot_root}, $new, $old) == 0 or fail("pivot_root: $!");
syscall($sys->{umount2}, $old, 2) == 0 or fail("detaching the host root: $!");
chdir('/') or fail("chdir /: $!");
make_dirs($cwd);
chdir($cwd) or fail("working directory $cwd: $!");
drop_bounding_caps();

my $flags = fcntl($status, F_GETFD, 0) or fail("fcntl: $!");
fcntl($status, F_SETFD, $flags | FD_CLOEXEC) or fail("fcntl: $!");

my $pid = fork();
defined $pid or fail("fork: $!");
if ($pid == 0) { become_user(); exec_step(); }
print $status "started\n";
my $code;
while (1) {
  my $done = waitpid(-1, 0);
  fail('lost the step process') if $done < 0;
  if ($done == $pid) { $code = $?; last; }
}
if ($code & 127) { print $status 'signal ', ($code & 127), "\n"; POSIX::_exit(128 + ($code & 127)); }
POSIX::_exit($code >> 8);

# Descriptors our caller inherited without close-on-exec (a CI runner's pipe, say) must not
# reach the step; only 0-2 and the status fd 3 stay open.
sub close_inherited_fds {
  opendir(my $dir, '/proc/self/fd') or fail("listing open fds: $!");
  my @fds = grep { /^\d+$/ && $_ > 3 } readdir($dir);
  closedir($dir);
  POSIX::close($_) for @fds;
}

# The mounts of runc's default spec, done with mount(2) here rather than one mount(8) each (two
# dozen execs per step). Paths are checked first: an image may lack /proc or have /etc a symlink.
use constant { MS_RDONLY => 1, MS_NOSUID => 2, MS_NODEV => 4, MS_NOEXEC => 8, MS_REMOUNT => 32, MS_BIND => 4096 };
sub sys_mount {
  my ($source, $target, $type, $flags, $data, $what) = @_;
  $data //= '';
  syscall($sys->{mount}, $source, $target, $type, $flags, $data) == 0 or fail("$what: $!");
}
sub usable { my $p = "$_[0]/$_[1]"; return -e $p && !-l $p; }
sub bind_mount { my ($from, $to, $what) = @_; sys_mount($from, $to, 'none', MS_BIND, '', $what); }
sub system_mounts {
  my ($m) = @_;
  my $hidden = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (usable($m, 'proc')) {
    sys_mount('proc', "$m/proc", 'proc', $hidden, '', 'mounting /proc');
    # As Docker does: no writes to kernel knobs, no kernel memory or keys. A read-only bind must
    # keep the flags of its source (the kernel refuses to drop them in a user namespace).
    for my $p (qw(sys sysrq-trigger irq bus fs)) {
      next unless -e "$m/proc/$p";
      bind_mount("$m/proc/$p", "$m/proc/$p", "protecting /proc/$p");
      sys_mount('none', "$m/proc/$p", 'none', MS_BIND | MS_REMOUNT | MS_RDONLY | $hidden, '', "protecting /proc/$p");
    }
    for my $p (qw(kcore keys timer_list)) {
      bind_mount('/dev/null', "$m/proc/$p", "masking /proc/$p") if -e "$m/proc/$p";
    }
  }
  if (usable($m, 'dev')) {
    sys_mount('tmpfs', "$m/dev", 'tmpfs', MS_NOSUID, 'mode=755,size=65536k', 'mounting /dev');
    for my $n (qw(null zero full random urandom tty)) {
      open(my $fh, '>', "$m/dev/$n") or fail("creating /dev/$n: $!");
      close($fh);
      bind_mount("/dev/$n", "$m/dev/$n", "binding /dev/$n");
    }
    mkdir("$m/dev/pts") && chmod(0755, "$m/dev/pts") or fail("creating /dev/pts: $!");
    mkdir("$m/dev/shm") && chmod(01777, "$m/dev/shm") or fail("creating /dev/shm: $!");
    # gid 5 (tty) does not exist in a rootless namespace without subordinate ids: then the
    # terminals belong to the step's own group, as under rootless Podman.
    my $pts = 'newinstance,ptmxmode=0666,mode=0620';
    my ($devpts, $target) = ('devpts', "$m/dev/pts");
    my $tty = "$pts,gid=5";
    syscall($sys->{mount}, $devpts, $target, $devpts, MS_NOSUID | MS_NOEXEC, $tty) == 0
      or sys_mount('devpts', "$m/dev/pts", 'devpts', MS_NOSUID | MS_NOEXEC, $pts, 'mounting /dev/pts');
    sys_mount('shm', "$m/dev/shm", 'tmpfs', $hidden, 'mode=1777,size=65536k', 'mounting /dev/shm');
    my %links = (
      fd => '/proc/self/fd', stdin => '/proc/self/fd/0', stdout => '/proc/self/fd/1', stderr => '/proc/self/fd/2',
      ptmx => 'pts/ptmx',
    );
    for my $name (sort keys %links) { symlink($links{$name}, "$m/dev/$name") or fail("creating /dev/$name: $!"); }
  }
  # Bind-mounted, not written: edits during the step never reach the layer (as in Docker).
  if (usable($m, 'etc')) {
    for my $f (qw(hosts resolv.conf hostname)) {
      bind_mount("$ENV{TZB_ETC}/$f", "$m/etc/$f", "binding /etc/$f") if usable($m, "etc/$f") && -f "$m/etc/$f";
    }
  }
}

sub loopback_up {
  socket(my $sock, Socket::AF_INET(), Socket::SOCK_DGRAM(), 0) or fail("socket: $!");
  my $req = pack('Z16 x24', 'lo');
  ioctl($sock, 0x8913, $req) or fail("reading lo flags: $!");
  my $set = pack('Z16 S x22', 'lo', unpack('x16 S', $req) | 1);
  ioctl($sock, 0x8914, $set) or fail("bringing up lo: $!");
}

sub make_dirs {
  my $path = '';
  for my $part (grep { length } split m{/}, $_[0]) {
    $path .= "/$part";
    next if -d $path;
    mkdir($path, 0755) or -d $path or fail("creating working directory $_[0]: $!");
  }
}

# Docker's default capability set; everything else leaves the bounding set before exec.
sub drop_bounding_caps {
  my %keep = map { $_ => 1 } (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31);
  for my $cap (0 .. $lastCap) {
    next if $keep{$cap};
    syscall($sys->{prctl}, 24, $cap, 0, 0, 0) == 0 or fail("dropping capability $cap: $!");
  }
}

sub become_user {
  # Exactly the supplementary groups asked for, none included: as runc sets additionalGids
  # (`id` then prints the same `groups=` as under docker). Perl's $) cannot set an empty list.
  my @extra = grep { length } split /,/, $groups;
  my $list = @extra ? pack('L*', @extra) : 0;
  # A rootless namespace without subordinate ids denies setgroups (only gid 0 is mapped there):
  # the step keeps the groups it has, as it always could.
  syscall($sys->{setgroups}, scalar(@extra), $list) == 0 or $!{EPERM} or fail("setgroups $groups: $!");
  POSIX::setgid($gid) or fail("setgid $gid: $!");
  POSIX::setuid($uid) or fail("setuid $uid: $!");
  ($< == $uid && $> == $uid) or fail("could not switch to uid $uid");
}

sub exec_step {
  %ENV = ();
  for my $pair (@env) { my ($k, $v) = split /=/, $pair, 2; $ENV{$k} = $v // ''; }
  { no warnings 'exec'; exec { $argv[0] } @argv; }
  my $missing = $!{ENOENT};
  my $why = $missing ? ($argv[0] =~ m{/} ? 'no such file or directory' : 'executable file not found in $PATH') : "$!";
  print STDERR "tzbuild: cannot run \"$argv[0]\": $why\n";
  POSIX::_exit($missing ? 127 : 126);
}
