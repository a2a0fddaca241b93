"""What of PyTorch's own test database tapegrad answers for: the scope of the conformance run.

`tapegrad.testing.torch_db` runs the OpInfos, ModuleInfos and OptimizerInfos that PyTorch
ships for its own tests against tapegrad. Everything in those databases is *in scope*
(tapegrad should have it and agree with torch on it) unless it belongs to one of the
families below, each excluded for the one reason given with it. This file is the only place
the scope is written; it is plain data, so ``import tapegrad`` can use it (an out-of-scope
name's ``AttributeError`` says so) without importing torch.
"""

from __future__ import annotations

# (family, reason, name prefixes, exact names). A database entry belongs to the family if
# its name starts with one of the prefixes or is one of the names.
EXCLUDED_FAMILIES: tuple[tuple[str, str, tuple[str, ...], frozenset[str]], ...] = (
    ("fft", "Fourier transforms need complex tensors, which tapegrad does not have",
     ("fft.",), frozenset({"stft", "istft"})),
    ("signal", "window functions for signal processing, not deep-learning maths",
     ("signal.",), frozenset()),
    ("special", "torch.special's Bessel/orthogonal-polynomial zoo; erf, erfc, erfinv, xlogy, "
     "logit and i0 stay in scope under their top-level names", ("special.",), frozenset()),
    ("sparse", "sparse layouts: tapegrad stores every tensor as a dense numpy array",
     ("sparse.",), frozenset({"to_sparse", "SparseAdam"})),
    ("masked", "torch.masked's masked-tensor reductions, a separate prototype API",
     ("masked.", "_masked."), frozenset()),
    ("complex", "complex tensors: tapegrad's dtypes are real (floats, integers, bool)",
     (), frozenset({"complex", "polar", "view_as_complex", "view_as_real", "cfloat", "cdouble",
                    "chalf"})),
    ("bfloat16", "brain floating point has no numpy dtype (it needs the ml_dtypes package, and "
     "tapegrad's runtime deps are numpy, numba, graphviz and matplotlib); emulating it in "
     "float32 would report float32 results as bfloat16", (), frozenset({"bfloat16"})),
    ("quantized", "quantized tensors are an inference-deployment format", ("quantized",),
     frozenset()),
    ("jiterator", "jiterator compiles CUDA kernels from C++ strings at run time",
     ("jiterator_",), frozenset()),
    ("private", "private ATen entry points (leading underscore or torch.ops.*), not torch's "
     "public API", ("_", "torch."),
     # its OpInfo calls torch.ops.aten.max_pool2d_with_indices_backward; the public form,
     # max_pool2d(...).backward(), is the max_pool2d entry
     frozenset({"max_pool2d_with_indices_backward"})),
    ("uint64", "hash_tensor's result is torch.uint64, an unsigned 64-bit dtype tapegrad does "
     "not have (its dtypes stop at int64 and uint8)", (), frozenset({"hash_tensor"})),
    ("linalg", "matrix decompositions and solvers beyond vector_norm, matrix_norm, norm, "
     "vecdot, inv, det, solve, cross and multi_dot", (),
     frozenset({"cholesky", "cholesky_inverse", "cholesky_solve", "geqrf", "lu", "lu_solve",
                "lu_unpack", "ormqr", "qr", "svd", "svd_lowrank", "pca_lowrank",
                "triangular_solve", "pinverse", "logdet", "matrix_exp"})),
)

# torch.linalg functions that stay in scope (the rest of ``linalg.*`` is the linalg family).
LINALG_IN_SCOPE = frozenset({"linalg.vector_norm", "linalg.matrix_norm", "linalg.norm",
                             "linalg.vecdot", "linalg.inv", "linalg.det", "linalg.solve",
                             "linalg.cross", "linalg.multi_dot"})

# Ops whose values torch leaves random or uninitialised: compared by shape and dtype only
# (their gradients by shape), since no seed makes two libraries draw the same numbers.
VALUES_UNDEFINED = frozenset({
    "bernoulli", "cauchy", "empty", "empty_like", "empty_permuted", "empty_strided",
    "exponential", "geometric", "log_normal", "multinomial", "new_empty", "new_empty_strided",
    "normal", "rand_like", "randint", "randint_like", "randn", "randn_like", "uniform",
    "nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d",
    "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout",
    "nn.functional.rrelu", "nn.functional.fractional_max_pool2d",
    "nn.functional.fractional_max_pool3d", "nn.Dropout", "nn.FractionalMaxPool2d",
    "nn.FractionalMaxPool3d", "randperm", "resize_", "resize_as_",
})

# Optimizer arguments that pick torch's implementation (for-each loops, fused CUDA kernels,
# CUDA-graph capture, a differentiable step) without changing the maths: dropped from
# optim_inputs_func's configurations when they are off, since tapegrad has one implementation.
OPTIMIZER_IMPLEMENTATION_FLAGS = ("foreach", "fused", "capturable", "differentiable")


def excluded_family(name: str) -> tuple[str, str] | None:
    """(family, reason) if the database entry ``name`` is out of scope, else None.

    ``name`` is an OpInfo name (``"fft.fft"``, ``"nn.functional.relu"``), a module name
    (``"nn.Linear"``) or an optimizer name (``"SparseAdam"``).
    """
    if name.startswith("linalg.") and name not in LINALG_IN_SCOPE:
        return EXCLUDED_FAMILIES[-1][0], EXCLUDED_FAMILIES[-1][1]
    if name.startswith("__") and name.endswith("__"):
        return None  # Python's operator methods (__radd__, __getitem__...) are public API
    for family, reason, prefixes, names in EXCLUDED_FAMILIES:
        if name in names or name.startswith(prefixes):
            return family, reason
    return None


def out_of_scope_message(owner: str, name: str) -> str | None:
    """The AttributeError text for ``owner.name`` when ``name`` is out of tapegrad's scope.

    ``owner`` is ``"tapegrad"`` (the package root); the root's module ``__getattr__``
    asks this for every name it does not have.
    """
    found = excluded_family(name)
    if found is None and name != "linalg":  # a namespace (fft, special...); linalg is partly in
        found = excluded_family(name + ".")
    if found is None or name.startswith("_"):
        return None
    family, reason = found
    return (f"{owner} has no attribute {name!r}: it is outside tapegrad's scope ({family}: "
            f"{reason}); `tapegrad check --torch-db --list` lists what is covered and what "
            "is not")
