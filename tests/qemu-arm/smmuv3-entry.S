/* SPDX-License-Identifier: MIT */
/*
 * Entry of the SMMUv3 QEMU oracle guest (aarch64, -machine virt). QEMU loads the ELF image
 * and starts it at EL1 with the MMU and caches off (every data access is Device memory, so
 * the C code is built with -mstrict-align). Set a stack, clear .bss, call guest_main(); if it
 * returns, wait for interrupts for good.
 */
	.section .text.boot, "ax"
	.globl _start
	.type _start, %function
_start:
	ldr	x0, =smmuv3_guest_stack_top
	mov	sp, x0
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	bl	guest_main
3:	wfi
	b	3b
	.size _start, . - _start

	.section .bss
	.balign 16
	.skip 65536
	.globl smmuv3_guest_stack_top
smmuv3_guest_stack_top:

	.section .note.GNU-stack, "", %progbits
