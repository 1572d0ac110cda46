#!/usr/bin/perl
# Makes device nodes and FIFOs for one layer apply (sys/device-nodes.ts): Node has no mknod(2).
# argv: the machine (`uname -m`, os.machine() on the Node side). Protocol: sys/mknod-protocol.ts;
# one `MODE DEV HEXPATH` line in, one answer out, before the next request is read.
# umask 0, so the mode is exactly the tar's (the caller sets ownership and mode again afterwards
# anyway). On a machine whose mknodat number we do not know every request is answered
# `unsupported`, and the caller falls back to coreutils mknod.
use strict; use warnings;
$| = 1; umask 0;
my ($machine) = @ARGV;
my $helpers = __FILE__ =~ m{^(.*)/} ? $1 : '.';
my $syscalls = do "$helpers/syscalls.pl" or die "tzbuild mknod: cannot load $helpers/syscalls.pl: ", ($@ || $!), "\n";
my $nr = $syscalls->{$machine // ''}{mknodat};
while (my $line = <STDIN>) {
  chomp $line;
  if (!defined $nr) { print "unsupported\n"; next; }
  my ($mode, $dev, $hex) = split / /, $line, 3;
  my $path = pack('H*', $hex);
  if (syscall($nr, -100, $path, oct($mode), $dev + 0) == 0) { print "ok\n"; } else { print "err $!\n"; }
}
