#!/usr/bin/perl
# The lock server: holds every flock(2) of one tzbuild process (sys/lock-server.ts starts it),
# each on its own open file description. Protocol: sys/lock-protocol.ts. At EOF on stdin (tzbuild
# exited, SIGKILL included) it exits, and the kernel drops every lock it held.
#
# Blocking requests are retried with LOCK_NB every few ms: the helper never blocks on one lock.
# No modules (strict, Fcntl, IO::Select, Time::HiRes each cost milliseconds at start, and the
# first missed step waits for this process): Linux's flock and open flag values, 4-arg select.
my ($LOCK_SH, $LOCK_EX, $LOCK_NB, $O_RDWR, $O_CREAT) = (1, 2, 4, 2, 64);
$| = 1;
my (%held, @pending);
my $stdin = '';
vec($stdin, fileno(STDIN), 1) = 1;
my $buffer = '';
sub attempt {
  my ($request) = @_;
  my $fh;
  unless (sysopen($fh, $request->{path}, $O_RDWR | $O_CREAT, 0644)) {
    print "err $request->{id} $!\n";
    return 1;
  }
  if (flock($fh, ($request->{mode} eq 's' ? $LOCK_SH : $LOCK_EX) | $LOCK_NB)) {
    $held{$request->{id}} = $fh;
    print "ok $request->{id}\n";
    return 1;
  }
  close $fh;
  return 0;
}
while (1) {
  if (select(my $ready = $stdin, undef, undef, @pending ? 0.005 : undef) > 0) {
    my $read = sysread(STDIN, $buffer, 65536, length $buffer);
    exit 0 unless $read;
    while ($buffer =~ s/^([^\n]*)\n//) {
      my $line = $1;
      if ($line =~ /^U (\d+)$/) {
        close(delete $held{$1}) if exists $held{$1};
      } elsif ($line =~ /^C (\d+)$/) {
        my $id = $1;
        my $before = @pending;
        @pending = grep { $_->{id} != $id } @pending;
        print "busy $id\n" if @pending < $before;
      } elsif ($line =~ /^L (\d+) ([xs]) ([wn]) (.+)$/) {
        my $request = { id => $1, mode => $2, path => $4 };
        next if attempt($request);
        if ($3 eq 'n') { print "busy $1\n"; next; }
        push @pending, $request;
      }
    }
  }
  @pending = grep { !attempt($_) } @pending;
}
