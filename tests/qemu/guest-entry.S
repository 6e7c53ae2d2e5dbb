/* SPDX-License-Identifier: MIT */
/*
 * Entry of the QEMU oracle guest: a Multiboot (v1) header, then 32-bit protected mode as the
 * loader leaves it (flat segments, paging off, interrupts off), a small stack, and a call to
 * guest_main(magic, info). If guest_main returns, halt for good.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000000 /* ELF image: no a.out kludge, no memory map wanted */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .bss
	.balign 16
stack_bottom:
	.skip 65536
stack_top:

	.section .text
	.globl _start
	.type _start, @function
_start:
	cli
	movl $stack_top, %esp
	xorl %ebp, %ebp
	pushl %ebx /* Multiboot information */
	pushl %eax /* 0x2BADB002 when loaded by a Multiboot loader */
	call guest_main
1:	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
