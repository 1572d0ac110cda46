/**
 * The Perl half of the namespace runner: the init process of the step's pid namespace.
 *
 * Why Perl: after pivot_root no host binary can be started any more (their loaders and libraries
 * are gone with the host root), so the last steps — detaching the host root, creating the working
 * directory, dropping to the step's user and exec — must happen inside one process that is already
 * loaded. perl-base is Essential on Debian, so it is always there; no compiled helper is needed.
 *
 * It stays as pid 1 (reaping orphans) and runs the step as its child, so the step gets ordinary
 * signal semantics and its exit status, including a fatal signal, is reported exactly.
 *
 * argv: uid gid groups(comma-separated) cwd network capLastCap envCount env… argv…
 * fd 3: `error: …` for setup failures (exit 125), `started` once the step runs, `signal N` when
 * the step died of signal N.
 */

/** Perl source, passed to `perl -e`. Every module is loaded before the host root disappears. */
export const INIT_PERL = String.raw`
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

# Syscall numbers: pivot_root, umount2, prctl.
my %nr = (x86_64 => [155, 166, 157], aarch64 => [41, 39, 167], riscv64 => [41, 39, 167]);
my $arch = (POSIX::uname())[4];
my $sys = $nr{$arch} or fail("unsupported architecture $arch");

loopback_up() if $net eq 'none';

# pivot_root(".", ".") stacks the host root on top of the new one; detaching it leaves only ours.
my ($new, $old) = ('.', '.');
syscall($sys->[0], $new, $old) == 0 or fail("pivot_root: $!");
syscall($sys->[1], $old, 2) == 0 or fail("detaching the host root: $!");
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
    syscall($sys->[2], 24, $cap, 0, 0, 0) == 0 or fail("dropping capability $cap: $!");
  }
}

sub become_user {
  my @extra = grep { length } split /,/, $groups;
  $) = join(' ', $gid, @extra ? @extra : ($gid));
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
`;
