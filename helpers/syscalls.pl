# Linux syscall numbers the Perl helpers call through syscall(), by `uname -m` machine name.
# Loaded with `do "$dir/syscalls.pl"` (it evaluates to the hash ref below), so the numbers live
# in one place and the helpers that must start fast (oci-supervisor.pl) still load no module.
# x86_64 has its own table; aarch64 and riscv64 use the generic one (asm-generic/unistd.h).
# A machine missing here is unsupported: each helper says so in its own way.
my %generic = (
  mount => 40, umount2 => 39, pivot_root => 41, prctl => 167, unshare => 97, exit_group => 94, mknodat => 33,
  setgroups => 159,
);
+{
  x86_64 => {
    mount => 165, umount2 => 166, pivot_root => 155, prctl => 157, unshare => 272, exit_group => 231, mknodat => 259,
    setgroups => 116,
  },
  aarch64 => { %generic },
  riscv64 => { %generic },
};
