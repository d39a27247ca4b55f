# A 32-bit (i386) program for the compat test: 1000 getppid calls through int $0x80 (i386
# number 64, which is semget in the x86_64 table), then exit (i386 1 = x86_64 write).
.globl _start
_start:
  mov $1000, %esi
1:
  mov $64, %eax
  int $0x80
  dec %esi
  jnz 1b
  mov $1, %eax
  xor %ebx, %ebx
  int $0x80
