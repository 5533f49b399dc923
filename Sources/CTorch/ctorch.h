/*
 * ctorch.h: the C interface of Magvit's shim over ATen (libtorch).
 *
 * Only C types cross this boundary. Every function that can fail returns a
 * ct_error: NULL on success, otherwise a message of the form "op: libtorch's
 * message". The message lives in thread-local storage and stays valid until
 * the next shim call on the same thread; callers copy it at once.
 * No C++ exception ever leaves the shim.
 *
 * A ct_tensor is an owning handle (a heap-allocated at::Tensor); every handle
 * returned through an `out` pointer must be released with ct_free.
 */
#ifndef MAGVIT_CTORCH_H
#define MAGVIT_CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor ct_tensor;
typedef const char *ct_error;

/*
 * Enumerations, each one X-macro list of X(enumerator, name). The enum, the shim's name table
 * (ct_enum_name) and its dispatch switches are all expanded from or checked against the list
 * (a switch that misses an enumerator fails the shim's build), so a value cannot drift from its
 * name or its implementation. Values count from 0 in list order and are part of the interface:
 * append entries, never reorder or remove them.
 */
#define CT_DTYPES(X)                                                                                    \
  X(CT_FLOAT32, "float32") X(CT_FLOAT64, "float64") X(CT_BFLOAT16, "bfloat16") X(CT_FLOAT16, "float16") \
  X(CT_INT64, "int64") X(CT_INT32, "int32") X(CT_UINT8, "uint8") X(CT_BOOL, "bool")

#define CT_UNARY_OPS(X)                                                                                 \
  X(CT_NEG, "neg") X(CT_ABS, "abs") X(CT_EXP, "exp") X(CT_LOG, "log") X(CT_SQRT, "sqrt")                \
  X(CT_RSQRT, "rsqrt") X(CT_SIN, "sin") X(CT_COS, "cos") X(CT_TANH, "tanh") X(CT_SIGMOID, "sigmoid")    \
  X(CT_RELU, "relu") X(CT_GELU, "gelu") X(CT_GELU_TANH, "gelu_tanh") X(CT_SILU, "silu")                 \
  X(CT_SOFTPLUS, "softplus") X(CT_SIGN, "sign") X(CT_FLOOR, "floor") X(CT_CEIL, "ceil")                 \
  X(CT_ROUND, "round") X(CT_LOGICAL_NOT, "logical_not") X(CT_ERF, "erf") X(CT_LOG1P, "log1p")           \
  X(CT_EXPM1, "expm1") X(CT_RECIPROCAL, "reciprocal") X(CT_SQUARE, "square") X(CT_ISNAN, "isnan")       \
  X(CT_LOGSIGMOID, "logsigmoid")

/* CT_RSUB and CT_RDIV have only scalar forms: s - a, s / a. */
#define CT_BINARY_OPS(X)                                                                                \
  X(CT_ADD, "add") X(CT_SUB, "sub") X(CT_MUL, "mul") X(CT_DIV, "div") X(CT_POW, "pow")                  \
  X(CT_MAXIMUM, "maximum") X(CT_MINIMUM, "minimum") X(CT_EQ, "eq") X(CT_NE, "ne") X(CT_LT, "lt")        \
  X(CT_LE, "le") X(CT_GT, "gt") X(CT_GE, "ge") X(CT_LOGICAL_AND, "logical_and")                         \
  X(CT_LOGICAL_OR, "logical_or") X(CT_REMAINDER, "remainder") X(CT_FLOOR_DIVIDE, "floor_divide")        \
  X(CT_BITWISE_AND, "bitwise_and") X(CT_BITWISE_OR, "bitwise_or") X(CT_BITWISE_XOR, "bitwise_xor")      \
  X(CT_SHIFT_LEFT, "shift_left") X(CT_SHIFT_RIGHT, "shift_right") X(CT_RSUB, "rsub") X(CT_RDIV, "rdiv")

#define CT_REDUCE_OPS(X)                                                                                \
  X(CT_SUM, "sum") X(CT_MEAN, "mean") X(CT_AMAX, "amax") X(CT_AMIN, "amin") X(CT_PROD, "prod")          \
  X(CT_LOGSUMEXP, "logsumexp") X(CT_ALL, "all") X(CT_ANY, "any")

#define CT_LOSS_OPS(X)                                                                                  \
  X(CT_MSE, "mse_loss") X(CT_L1, "l1_loss") X(CT_CROSS_ENTROPY, "cross_entropy")                        \
  X(CT_BCE_LOGITS, "binary_cross_entropy_with_logits")

/* The same numbering as ATen's at::Reduction. */
#define CT_REDUCTIONS(X) X(CT_REDUCE_NONE, "none") X(CT_REDUCE_MEAN, "mean") X(CT_REDUCE_SUM, "sum")

/* The names are torch.nn.functional.pad's modes. */
#define CT_PAD_MODES(X) X(CT_PAD_CONSTANT, "constant") X(CT_PAD_REPLICATE, "replicate") X(CT_PAD_REFLECT, "reflect")

/* CT_LINEAR is linear, bilinear or trilinear by the number of spatial dims. */
#define CT_INTERP_MODES(X) X(CT_NEAREST, "nearest") X(CT_LINEAR, "linear")

#define CT_ENUMERATOR_(id, name) id,
enum ct_dtype_code { CT_DTYPES(CT_ENUMERATOR_) };
enum ct_unary_op { CT_UNARY_OPS(CT_ENUMERATOR_) };
enum ct_binary_op { CT_BINARY_OPS(CT_ENUMERATOR_) };
enum ct_reduce_op { CT_REDUCE_OPS(CT_ENUMERATOR_) };
enum ct_loss_op { CT_LOSS_OPS(CT_ENUMERATOR_) };
enum ct_reduction { CT_REDUCTIONS(CT_ENUMERATOR_) };
enum ct_pad_mode { CT_PAD_MODES(CT_ENUMERATOR_) };
enum ct_interp_mode { CT_INTERP_MODES(CT_ENUMERATOR_) };
#undef CT_ENUMERATOR_

/* The enumerations above, for ct_enum_name. */
enum ct_enumeration {
  CT_ENUM_DTYPE, CT_ENUM_UNARY, CT_ENUM_BINARY, CT_ENUM_REDUCE, CT_ENUM_LOSS, CT_ENUM_REDUCTION, CT_ENUM_PAD,
  CT_ENUM_INTERP
};

/* Device kinds. */
enum { CT_CPU = 0, CT_CUDA = 1 };

/* ---- library ---------------------------------------------------------- */
const char *ct_version(void);
void ct_manual_seed(uint64_t seed);
void ct_set_num_threads(int n);
int ct_get_num_threads(void);
bool ct_cuda_available(void);
int ct_cuda_device_count(void);
ct_error ct_cuda_synchronize(void);
/* Bytes currently and at most allocated by the CUDA caching allocator on a device. */
ct_error ct_cuda_memory(int index, int64_t *allocated, int64_t *peak, bool reset_peak);
/* The CUDA version libtorch's CUDA backend was built with ("13.0"), or NULL when no CUDA backend
   is loaded (a CPU-only libtorch, or a shim built without CUDA). */
const char *ct_cuda_version(void);
/* Fails, with one line naming libtorch's version and build and the CUDA devices it found, unless
   tensors can be placed on the device. Every call that takes a device checks it the same way. */
ct_error ct_check_device(int kind, int index);
/* The name of `value` in an enumeration (enum ct_enumeration), or NULL when it has no such value. */
const char *ct_enum_name(int enumeration, int value);

/* Starts libtorch's op profiler (Kineto, as torch.profiler): CPU ops, and device kernels with `cuda`. */
ct_error ct_profiler_start(bool cuda);
/* Stops it and writes one line per recorded event to `table_path`: name, thread id ("device" for
   kernels), start and duration in nanoseconds, tab-separated; and a Chrome trace to `trace_path`
   unless it is NULL or empty. */
ct_error ct_profiler_stop(const char *table_path, const char *trace_path);

/* ---- lifetime and facts ----------------------------------------------- */
void ct_free(ct_tensor *t);
int64_t ct_dim(const ct_tensor *t);
void ct_sizes(const ct_tensor *t, int64_t *sizes); /* dim() entries */
/* A ct_dtype_code, or -1 for an element type the interface does not map. */
int ct_dtype(const ct_tensor *t);
/* libtorch's name of the element type ("Float", "Char"), for messages about unmapped types. */
const char *ct_scalar_type_name(const ct_tensor *t);
void ct_device(const ct_tensor *t, int *kind, int *index);
int64_t ct_numel(const ct_tensor *t);
bool ct_requires_grad(const ct_tensor *t);
bool ct_is_defined(const ct_tensor *t);

/* ---- creation and transfer -------------------------------------------- */
/* Copies `data` (contiguous, `dtype`) into a new CPU tensor. */
ct_error ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype, ct_tensor **out);
/* Copies the elements, in row-major order, into `dst` of `nbytes` bytes. */
ct_error ct_copy_to_host(const ct_tensor *t, void *dst, size_t nbytes);
ct_error ct_full(const int64_t *shape, int ndim, double value, int dtype, int device, int index, ct_tensor **out);
ct_error ct_arange(double start, double end, double step, int dtype, int device, int index, ct_tensor **out);
/* kind 0: uniform [0,1), 1: standard normal. */
ct_error ct_random(int kind, const int64_t *shape, int ndim, int dtype, int device, int index, ct_tensor **out);
ct_error ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int device, int index, ct_tensor **out);
ct_error ct_to(const ct_tensor *t, int dtype, int device, int index, ct_tensor **out);
ct_error ct_item(const ct_tensor *t, double *out);
ct_error ct_clone(const ct_tensor *t, ct_tensor **out);
/* A second handle on the same tensor (shares data and autograd identity). */
ct_error ct_alias(const ct_tensor *t, ct_tensor **out);
ct_error ct_detach(const ct_tensor *t, ct_tensor **out);
ct_error ct_contiguous(const ct_tensor *t, ct_tensor **out);

/* ---- elementwise ------------------------------------------------------ */
ct_error ct_unary(int op, const ct_tensor *a, ct_tensor **out);
ct_error ct_binary(int op, const ct_tensor *a, const ct_tensor *b, ct_tensor **out);
/* `integral` makes the scalar an int64 so integer tensors stay integer. */
ct_error ct_binary_scalar(int op, const ct_tensor *a, double s, bool integral, ct_tensor **out);
ct_error ct_clamp(const ct_tensor *a, double lo, double hi, bool has_lo, bool has_hi, ct_tensor **out);
ct_error ct_where(const ct_tensor *cond, const ct_tensor *a, const ct_tensor *b, ct_tensor **out);
ct_error ct_leaky_relu(const ct_tensor *a, double slope, ct_tensor **out);

/* ---- reductions ------------------------------------------------------- */
/* ndims == 0 reduces over every dimension. */
ct_error ct_reduce(int op, const ct_tensor *a, const int64_t *dims, int ndims, bool keepdim, ct_tensor **out);
ct_error ct_var(const ct_tensor *a, const int64_t *dims, int ndims, int64_t correction, bool keepdim, ct_tensor **out);
ct_error ct_argmax(const ct_tensor *a, int64_t dim, bool keepdim, bool min, ct_tensor **out);
ct_error ct_softmax(const ct_tensor *a, int64_t dim, bool log, ct_tensor **out);
ct_error ct_cumsum(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_error ct_topk(const ct_tensor *a, int64_t k, int64_t dim, bool largest, ct_tensor **values, ct_tensor **indices);
ct_error ct_sort(const ct_tensor *a, int64_t dim, bool descending, ct_tensor **values, ct_tensor **indices);
ct_error ct_multinomial(const ct_tensor *probs, int64_t n, bool replacement, ct_tensor **out);

/* ---- linear algebra and networks -------------------------------------- */
ct_error ct_matmul(const ct_tensor *a, const ct_tensor *b, ct_tensor **out);
ct_error ct_linear(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, ct_tensor **out);
/* Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices (torch.linalg.eigh). */
ct_error ct_eigh(const ct_tensor *a, ct_tensor **values, ct_tensor **vectors);
/* Whether float32 CPU conv3d calls of batch 1 go straight to oneDNN (on by default) instead of
   libtorch's choice, which is its native im2col kernel for small inputs. */
void ct_set_direct_onednn_conv3d(bool on);
bool ct_direct_onednn_conv3d(void);
/* n spatial dims (1, 2 or 3); stride, padding, dilation have n entries; b may be NULL. */
ct_error ct_conv(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, int n, const int64_t *stride,
                 const int64_t *padding, const int64_t *dilation, int64_t groups, ct_tensor **out);
ct_error ct_conv_transpose(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, int n, const int64_t *stride,
                           const int64_t *padding, const int64_t *output_padding, const int64_t *dilation,
                           int64_t groups, ct_tensor **out);
/* max == false: average pooling (count_include_pad). */
ct_error ct_pool(const ct_tensor *x, bool max, int n, const int64_t *kernel, const int64_t *stride,
                 const int64_t *padding, ct_tensor **out);
ct_error ct_interpolate(const ct_tensor *x, int mode, int n, const int64_t *size, bool align_corners, ct_tensor **out);
/* Samples x (N, C, H, W) at grid (N, H', W', 2) of normalised (x, y) in [-1, 1]; mode a ct_interp_mode;
   padding 0 zeros, 1 border, 2 reflection. */
ct_error ct_grid_sample(const ct_tensor *x, const ct_tensor *grid, int mode, int padding, bool align_corners, ct_tensor **out);
/* w and b may be NULL. */
ct_error ct_group_norm(const ct_tensor *x, int64_t groups, const ct_tensor *w, const ct_tensor *b, double eps,
                       ct_tensor **out);
ct_error ct_layer_norm(const ct_tensor *x, const int64_t *shape, int n, const ct_tensor *w, const ct_tensor *b,
                       double eps, ct_tensor **out);
ct_error ct_embedding(const ct_tensor *weight, const ct_tensor *indices, ct_tensor **out);
ct_error ct_dropout(const ct_tensor *x, double p, bool train, ct_tensor **out);
/* mask may be NULL; scale <= 0 means 1/sqrt(head_dim). */
ct_error ct_attention(const ct_tensor *q, const ct_tensor *k, const ct_tensor *v, const ct_tensor *mask,
                      double dropout, bool causal, double scale, ct_tensor **out);
/* target is class indices (int64) for cross entropy, same shape as input otherwise. */
ct_error ct_loss(int op, const ct_tensor *input, const ct_tensor *target, int reduction, double label_smoothing,
                 ct_tensor **out);

/* ---- shape and indexing ----------------------------------------------- */
ct_error ct_reshape(const ct_tensor *a, const int64_t *shape, int n, ct_tensor **out);
ct_error ct_permute(const ct_tensor *a, const int64_t *dims, int n, ct_tensor **out);
ct_error ct_transpose(const ct_tensor *a, int64_t d0, int64_t d1, ct_tensor **out);
ct_error ct_expand(const ct_tensor *a, const int64_t *shape, int n, ct_tensor **out);
ct_error ct_repeat(const ct_tensor *a, const int64_t *repeats, int n, ct_tensor **out);
ct_error ct_squeeze(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_error ct_unsqueeze(const ct_tensor *a, int64_t dim, ct_tensor **out);
ct_error ct_flip(const ct_tensor *a, const int64_t *dims, int n, ct_tensor **out);
ct_error ct_narrow(const ct_tensor *a, int64_t dim, int64_t start, int64_t length, ct_tensor **out);
ct_error ct_select(const ct_tensor *a, int64_t dim, int64_t index, ct_tensor **out);
ct_error ct_index_select(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out);
ct_error ct_gather(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out);
ct_error ct_scatter(const ct_tensor *a, int64_t dim, const ct_tensor *index, const ct_tensor *src, ct_tensor **out);
ct_error ct_masked_fill(const ct_tensor *a, const ct_tensor *mask, double value, ct_tensor **out);
ct_error ct_cat(const ct_tensor *const *ts, int n, int64_t dim, bool stack, ct_tensor **out);
/* pads: pairs (before, after) starting from the last dimension, as torch.nn.functional.pad. */
ct_error ct_pad(const ct_tensor *a, const int64_t *pads, int n, int mode, double value, ct_tensor **out);
ct_error ct_one_hot(const ct_tensor *a, int64_t classes, ct_tensor **out);
/* Counts of each value of a 1-d non-negative integer tensor, at least `minlength` long. */
ct_error ct_bincount(const ct_tensor *a, int64_t minlength, ct_tensor **out);

/* ---- in place (for optimizers; no autograd history is recorded under no-grad) */
ct_error ct_inplace(int op, ct_tensor *a, const ct_tensor *b, double alpha);     /* add/sub/mul/div; a += alpha*b */
ct_error ct_inplace_scalar(int op, ct_tensor *a, double s);                       /* add/sub/mul/div/pow */
ct_error ct_addcmul_(ct_tensor *a, const ct_tensor *b, const ct_tensor *c, double value);
ct_error ct_addcdiv_(ct_tensor *a, const ct_tensor *b, const ct_tensor *c, double value);
ct_error ct_lerp_(ct_tensor *a, const ct_tensor *end, double weight);
ct_error ct_copy_(ct_tensor *dst, const ct_tensor *src);
ct_error ct_fill_(ct_tensor *a, double value);
ct_error ct_uniform_(ct_tensor *a, double lo, double hi);
ct_error ct_normal_(ct_tensor *a, double mean, double std);
/* Replaces the data of `a` (keeping the handle and requires_grad): moves across devices and dtypes. */
ct_error ct_set_data(ct_tensor *a, const ct_tensor *src);

/* ---- autograd --------------------------------------------------------- */
ct_error ct_set_requires_grad(ct_tensor *t, bool on);
/* *out is NULL when no gradient has been accumulated. */
ct_error ct_grad(const ct_tensor *t, ct_tensor **out);
ct_error ct_clear_grad(ct_tensor *t);
/* grad may be NULL for a one-element tensor. */
ct_error ct_backward(const ct_tensor *t, const ct_tensor *grad, bool retain_graph, bool create_graph);
/* Gradients of sum(outputs[i] * grad_outputs[i]) with respect to each input; grads[i] is NULL
   for an input that does not reach the outputs. grad_outputs may be NULL (ones). */
ct_error ct_autograd_grad(const ct_tensor *const *outputs, const ct_tensor *const *grad_outputs, int n_out,
                          const ct_tensor *const *inputs, int n_in, bool create_graph, ct_tensor **grads);
bool ct_grad_enabled(void);
void ct_set_grad_enabled(bool on);
/* Turns autocast on or off for a device kind with the given lower-precision dtype; returns the previous state. */
ct_error ct_set_autocast(int device, bool on, int dtype, bool *was_on, int *was_dtype);

/*
 * Data-parallel communication over libtorch's c10d (TCPStore rendezvous, Gloo process group).
 * Rank 0 serves the store at host:port; every rank connects. Collectives are in place and wait up
 * to timeout_ms; a peer that dies or stops answering makes them fail instead of hanging.
 * Reduce ops: 0 sum, 1 max, 2 min. Backend 0 is Gloo alone; 1 adds c10d's NCCL group for CUDA
 * tensors (on GPU `device`, the local rank's), from libmagvit_nccl.so beside the shim, while CPU
 * tensors stay on Gloo. ct_dist_nccl_available says why NCCL cannot be used here, or NULL.
 */
typedef struct ct_process_group ct_process_group;
ct_error ct_dist_nccl_available(void);
ct_error ct_dist_init(const char *host, int port, int rank, int world, int64_t timeout_ms, int backend, int device,
                      ct_process_group **out);
void ct_dist_free(ct_process_group *group);
ct_error ct_dist_all_reduce(ct_process_group *group, ct_tensor *const *tensors, int n, int op);
ct_error ct_dist_broadcast(ct_process_group *group, ct_tensor *const *tensors, int n, int root);
ct_error ct_dist_barrier(ct_process_group *group);

/*
 * Gradient all-reduce overlapped with backward (PyTorch DDP's reducer): hooks on the parameters'
 * gradient accumulators start each bucket's all-reduce (buckets of at most bucket_elements, in
 * reverse parameter order) as soon as backward has produced all its gradients. arm() before the
 * backward whose gradients are to be reduced (the last micro-batch's); finish() after it starts the
 * buckets not started yet, waits for all, and replaces each gradient with its mean over the ranks;
 * *early is the number of buckets started during backward. Without arm(), finish() reduces
 * everything after backward. A failure in a hook is kept and returned by finish(). The group must
 * outlive the reducer; freeing it removes the hooks.
 */
typedef struct ct_grad_reducer ct_grad_reducer;
ct_error ct_reducer_new(ct_process_group *group, ct_tensor *const *params, int n, int64_t bucket_elements, ct_grad_reducer **out);
void ct_reducer_free(ct_grad_reducer *reducer);
int ct_reducer_buckets(const ct_grad_reducer *reducer);
ct_error ct_reducer_arm(ct_grad_reducer *reducer);
ct_error ct_reducer_finish(ct_grad_reducer *reducer, int *early);

#ifdef __cplusplus
}
#endif
#endif
