/*
 * steer_obj.S - the compiled filter (steer.bpf.o) inside the library, for
 * steer.c's bpf_object__open_mem.
 *
 * STEER_BPF_OBJ is the object's path, given by the Makefile (it is under
 * $(BUILD), which differs between builds). Both symbols are hidden, as
 * everything in libmtcp.so but the interposed calls.
 */
	.section .rodata.mtcp_steer_bpf, "a"
	.balign 8
	.globl mtcp_steer_bpf_obj
	.hidden mtcp_steer_bpf_obj
	.type mtcp_steer_bpf_obj, @object
mtcp_steer_bpf_obj:
	.incbin STEER_BPF_OBJ
	.size mtcp_steer_bpf_obj, . - mtcp_steer_bpf_obj
	.globl mtcp_steer_bpf_obj_end
	.hidden mtcp_steer_bpf_obj_end
mtcp_steer_bpf_obj_end:

	/* No executable stack for the objects this one is linked with. */
	.section .note.GNU-stack, "", @progbits
