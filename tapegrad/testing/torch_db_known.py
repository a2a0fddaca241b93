"""Known failures of the torch-database conformance run (`tapegrad.testing.torch_db`).

Every entry of PyTorch's database that does not agree with torch in every case is listed
here with the reason: ``"op:NAME:samples"`` (some sample cases fail), ``"op:NAME:errors"``
(some error inputs do not raise torch's exception type), ``"module:NAME:samples"``,
``"optimizer:NAME:samples"``. tests/testing/test_torch_db.py runs each as a strict xfail: an
entry that starts passing fails its test until it is removed here, so the list only shrinks.
``missing:`` marks what tapegrad does not have at all (issue 11, section 2).

The reasons were first written from the runner's own notes (the first distinct failures of
each entry); regenerate the notes with ``tapegrad check --torch-db -v --ops NAME``.
"""

KNOWN_FAILURES: dict[str, str] = {
    # ---- ops that exist and disagree
    'op:sum_to_size:samples':
        'output: dtype int32, torch int64; output: dtype int16, torch int64; ...',
    'op:nn.functional.conv1d:samples':
        'second derivatives missing: the first gradient is computed without a graph',
    'op:nn.functional.conv2d:samples':
        'second derivatives missing: the first gradient is computed without a graph',
    'op:nn.functional.batch_norm:samples':
        'RuntimeError: batch_norm: expected at least a 2-D input, got 1-D',
    'op:gather:samples':
        'RuntimeError: gather(): Expected dtype int32/int64 for index; RuntimeError: Index '
        'tensor must have the same number of dimensions as input tensor',
    'op:index_add:samples':
        'OverflowError: Python integer -1 out of bounds for uint8',
    'op:scatter:samples':
        'NotImplementedError: scatter(reduce=...) is not supported; use scatter_add',
    'op:full_like:samples':
        'OverflowError: Python integer -9 out of bounds for uint8',
    'op:zero_:samples':
        "AttributeError: module 'tapegrad' has no attribute 'zero_'",
    'op:amax:errors':
        'two error inputs have 65 dims: a numpy array holds at most 64, so tapegrad cannot '
        'build the input (torch builds it, and its op refuses it)',
    'op:amin:errors':
        'two error inputs have 65 dims: a numpy array holds at most 64, so tapegrad cannot '
        'build the input (torch builds it, and its op refuses it)',
    # ---- ops tapegrad does not have
    'op:cauchy:samples': 'missing: tapegrad has no cauchy',
    'op:cauchy:errors': 'missing: tapegrad has no cauchy',
    'op:exponential:samples': 'missing: tapegrad has no exponential',
    'op:exponential:errors': 'missing: tapegrad has no exponential',
    'op:geometric:samples': 'missing: tapegrad has no geometric',
    'op:geometric:errors': 'missing: tapegrad has no geometric',
    'op:log_normal:samples': 'missing: tapegrad has no log_normal',
    'op:log_normal:errors': 'missing: tapegrad has no log_normal',
    'op:normal.in_place:samples': 'missing: tapegrad has no normal',
    'op:normal.in_place:errors': 'missing: tapegrad has no normal',
    'op:uniform:samples': 'missing: tapegrad has no uniform',
    'op:uniform:errors': 'missing: tapegrad has no uniform',
    'op:atan2:samples': 'missing: tapegrad has no atan2',
    'op:atan2:errors': 'missing: tapegrad has no atan2',
    'op:broadcast_shapes:samples': 'missing: tapegrad has no broadcast_shapes',
    'op:broadcast_tensors:samples': 'missing: tapegrad has no broadcast_tensors',
    'op:block_diag:samples': 'missing: tapegrad has no block_diag',
    'op:bitwise_left_shift:samples': 'missing: tapegrad has no bitwise_left_shift',
    'op:bitwise_left_shift:errors': 'missing: tapegrad has no bitwise_left_shift',
    'op:bitwise_right_shift:samples': 'missing: tapegrad has no bitwise_right_shift',
    'op:bitwise_right_shift:errors': 'missing: tapegrad has no bitwise_right_shift',
    'op:combinations:samples': 'missing: tapegrad has no combinations',
    'op:cartesian_prod:samples': 'missing: tapegrad has no cartesian_prod',
    'op:unsafe_chunk:samples': 'missing: tapegrad has no unsafe_chunk',
    'op:conj:samples': 'missing: tapegrad has no conj',
    'op:conj_physical:samples': 'missing: tapegrad has no conj_physical',
    'op:resolve_conj:samples': 'missing: tapegrad has no resolve_conj',
    'op:resolve_neg:samples': 'missing: tapegrad has no resolve_neg',
    'op:copysign:samples': 'missing: tapegrad has no copysign',
    'op:copysign:errors': 'missing: tapegrad has no copysign',
    'op:deg2rad:samples': 'missing: tapegrad has no deg2rad',
    'op:expand_copy:samples': 'missing: tapegrad has no expand_copy',
    'op:diag:samples': 'missing: tapegrad has no diag',
    'op:diag:errors': 'missing: tapegrad has no diag',
    'op:diag_embed:samples': 'missing: tapegrad has no diag_embed',
    'op:diag_embed:errors': 'missing: tapegrad has no diag_embed',
    'op:diagonal_copy:samples': 'missing: tapegrad has no diagonal_copy',
    'op:diagonal_copy:errors': 'missing: tapegrad has no diagonal_copy',
    'op:diagonal_scatter:samples': 'missing: tapegrad has no diagonal_scatter',
    'op:alias_copy:samples': 'missing: tapegrad has no alias_copy',
    'op:fmax:samples': 'missing: tapegrad has no fmax',
    'op:fmax:errors': 'missing: tapegrad has no fmax',
    'op:fmin:samples': 'missing: tapegrad has no fmin',
    'op:fmin:errors': 'missing: tapegrad has no fmin',
    'op:fmod:samples': 'missing: tapegrad has no fmod',
    'op:fmod:errors': 'missing: tapegrad has no fmod',
    'op:remainder:samples': 'missing: tapegrad has no remainder',
    'op:remainder:errors': 'missing: tapegrad has no remainder',
    'op:i0:samples': 'missing: tapegrad has no i0',
    'op:frexp:samples': 'missing: tapegrad has no frexp',
    'op:isin:samples': 'missing: tapegrad has no isin',
    'op:kthvalue:samples':
        "integer inputs with ties: torch's selection returns another of the tied indices (the "
        'values agree)',
    'op:ldexp:samples': 'missing: tapegrad has no ldexp',
    'op:ldexp:errors': 'missing: tapegrad has no ldexp',
    'op:logaddexp:samples': 'missing: tapegrad has no logaddexp',
    'op:logaddexp:errors': 'missing: tapegrad has no logaddexp',
    'op:logaddexp2:samples': 'missing: tapegrad has no logaddexp2',
    'op:masked_scatter:samples': 'missing: tapegrad has no masked_scatter',
    'op:masked_scatter:errors': 'missing: tapegrad has no masked_scatter',
    'op:meshgrid.variadic_tensors:samples': 'missing: tapegrad has no meshgrid',
    'op:meshgrid.list_of_tensors:samples': 'missing: tapegrad has no meshgrid',
    'op:heaviside:samples': 'missing: tapegrad has no heaviside',
    'op:heaviside:errors': 'missing: tapegrad has no heaviside',
    'op:lcm:samples': 'missing: tapegrad has no lcm',
    'op:lcm:errors': 'missing: tapegrad has no lcm',
    'op:gcd:samples': 'missing: tapegrad has no gcd',
    'op:gcd:errors': 'missing: tapegrad has no gcd',
    'op:nn.functional.softmin:samples': 'missing: tapegrad has no nn.functional.softmin',
    'op:nn.functional.softmin.with_dtype:samples': 'missing: tapegrad has no nn.functional.softmin',
    'op:aminmax:errors':
        'a 65-dim input: a numpy array holds at most 64 dims, so the case cannot be built (torch '
        'raises RuntimeError)',
    'op:as_strided:samples': 'missing: tapegrad has no as_strided',
    'op:as_strided.partial_views:samples': 'missing: tapegrad has no as_strided',
    'op:as_strided_copy:samples': 'missing: tapegrad has no as_strided_copy',
    'op:as_strided_scatter:samples': 'missing: tapegrad has no as_strided_scatter',
    'op:as_strided_scatter:errors': 'missing: tapegrad has no as_strided_scatter',
    'op:nn.functional.adaptive_avg_pool3d:samples':
        'missing: tapegrad has no nn.functional.adaptive_avg_pool3d',
    'op:nn.functional.adaptive_avg_pool3d:errors':
        'missing: tapegrad has no nn.functional.adaptive_avg_pool3d',
    'op:nn.functional.adaptive_max_pool3d:samples':
        'missing: tapegrad has no nn.functional.adaptive_max_pool3d',
    'op:nn.functional.adaptive_max_pool3d:errors':
        'missing: tapegrad has no nn.functional.adaptive_max_pool3d',
    'op:nn.functional.avg_pool3d:samples': 'missing: tapegrad has no nn.functional.avg_pool3d',
    'op:nn.functional.avg_pool3d:errors': 'missing: tapegrad has no nn.functional.avg_pool3d',
    'op:nn.functional.conv_transpose1d:samples':
        'missing: tapegrad has no nn.functional.conv_transpose1d',
    'op:nn.functional.conv_transpose2d:samples':
        'missing: tapegrad has no nn.functional.conv_transpose2d',
    'op:nn.functional.conv_transpose3d:samples':
        'missing: tapegrad has no nn.functional.conv_transpose3d',
    'op:nn.functional.conv3d:samples': 'missing: tapegrad has no nn.functional.conv3d',
    'op:nn.functional.conv3d:errors': 'missing: tapegrad has no nn.functional.conv3d',
    'op:nn.functional.hardswish:samples': 'missing: tapegrad has no nn.functional.hardswish',
    'op:nn.functional.unfold:samples': 'missing: tapegrad has no nn.functional.unfold',
    'op:nn.functional.interpolate.nearest:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.interpolate.nearest-exact:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.interpolate.linear:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.interpolate.bilinear:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.interpolate.bicubic:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.interpolate.trilinear:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.interpolate.area:samples':
        'missing: tapegrad has no nn.functional.interpolate',
    'op:nn.functional.upsample_bilinear:samples':
        'missing: tapegrad has no nn.functional.upsample_bilinear',
    'op:nn.functional.upsample_nearest:samples':
        'missing: tapegrad has no nn.functional.upsample_nearest',
    'op:nn.functional.fractional_max_pool2d:samples':
        'missing: tapegrad has no nn.functional.fractional_max_pool2d',
    'op:nn.functional.fractional_max_pool3d:samples':
        'missing: tapegrad has no nn.functional.fractional_max_pool3d',
    'op:max_pool2d_with_indices_backward:samples':
        'missing: tapegrad has no max_pool2d_with_indices_backward',
    'op:nn.functional.max_pool3d:samples': 'missing: tapegrad has no nn.functional.max_pool3d',
    'op:nn.functional.max_pool3d:errors': 'missing: tapegrad has no nn.functional.max_pool3d',
    'op:nn.functional.max_unpool1d:samples': 'missing: tapegrad has no nn.functional.max_unpool1d',
    'op:nn.functional.max_unpool1d:errors': 'missing: tapegrad has no nn.functional.max_unpool1d',
    'op:nn.functional.max_unpool1d.grad:samples':
        'missing: tapegrad has no nn.functional.max_unpool1d',
    'op:nn.functional.max_unpool2d:samples': 'missing: tapegrad has no nn.functional.max_unpool2d',
    'op:nn.functional.max_unpool2d:errors': 'missing: tapegrad has no nn.functional.max_unpool2d',
    'op:nn.functional.max_unpool2d.grad:samples':
        'missing: tapegrad has no nn.functional.max_unpool2d',
    'op:nn.functional.max_unpool3d:samples': 'missing: tapegrad has no nn.functional.max_unpool3d',
    'op:nn.functional.max_unpool3d:errors': 'missing: tapegrad has no nn.functional.max_unpool3d',
    'op:nn.functional.max_unpool3d.grad:samples':
        'missing: tapegrad has no nn.functional.max_unpool3d',
    'op:nn.functional.glu:samples': 'missing: tapegrad has no nn.functional.glu',
    'op:nn.functional.prelu:samples': 'missing: tapegrad has no nn.functional.prelu',
    'op:nn.functional.prelu:errors': 'missing: tapegrad has no nn.functional.prelu',
    'op:nn.functional.celu:samples': 'missing: tapegrad has no nn.functional.celu',
    'op:nn.functional.rrelu:samples': 'missing: tapegrad has no nn.functional.rrelu',
    'op:nn.functional.rrelu:errors': 'missing: tapegrad has no nn.functional.rrelu',
    'op:nn.functional.selu:samples': 'missing: tapegrad has no nn.functional.selu',
    'op:nn.functional.hardsigmoid:samples': 'missing: tapegrad has no nn.functional.hardsigmoid',
    'op:nn.functional.mish:samples': 'missing: tapegrad has no nn.functional.mish',
    'op:nn.functional.softsign:samples': 'missing: tapegrad has no nn.functional.softsign',
    'op:nn.functional.tanhshrink:samples': 'missing: tapegrad has no nn.functional.tanhshrink',
    'op:nextafter:samples': 'missing: tapegrad has no nextafter',
    'op:nextafter:errors': 'missing: tapegrad has no nextafter',
    'op:topk:samples':
        'integer inputs with ties: torch returns another of the tied indices (the values agree; '
        'tapegrad takes the first in input order)',
    'op:igamma:samples': 'missing: tapegrad has no igamma',
    'op:igamma:errors': 'missing: tapegrad has no igamma',
    'op:igammac:samples': 'missing: tapegrad has no igammac',
    'op:igammac:errors': 'missing: tapegrad has no igammac',
    'op:nn.functional.softshrink:samples': 'missing: tapegrad has no nn.functional.softshrink',
    'op:nn.functional.softshrink:errors': 'missing: tapegrad has no nn.functional.softshrink',
    'op:nn.functional.hardshrink:samples': 'missing: tapegrad has no nn.functional.hardshrink',
    'op:mode:samples':
        'a 3000-element integer/bool input: torch returns another index of the modal value than '
        'its last occurrence (the values agree)',
    'op:mvlgamma.mvlgamma_p_1:samples': 'missing: tapegrad has no mvlgamma',
    'op:mvlgamma.mvlgamma_p_3:samples': 'missing: tapegrad has no mvlgamma',
    'op:mvlgamma.mvlgamma_p_5:samples': 'missing: tapegrad has no mvlgamma',
    'op:narrow_copy:samples': 'missing: tapegrad has no narrow_copy',
    'op:narrow_copy:errors': 'missing: tapegrad has no narrow_copy',
    'op:view_copy:samples': 'missing: tapegrad has no view_copy',
    'op:view_copy:errors': 'missing: tapegrad has no view_copy',
    'op:permute_copy:samples': 'missing: tapegrad has no permute_copy',
    'op:float_power:samples': 'missing: tapegrad has no float_power',
    'op:float_power:errors': 'missing: tapegrad has no float_power',
    'op:rad2deg:samples': 'missing: tapegrad has no rad2deg',
    'op:real:samples': 'missing: tapegrad has no real',
    'op:sinc:samples': 'missing: tapegrad has no sinc',
    'op:sgn:samples': 'missing: tapegrad has no sgn',
    'op:unsafe_split:samples': 'missing: tapegrad has no unsafe_split',
    'op:split_with_sizes:samples': 'missing: tapegrad has no split_with_sizes',
    'op:split_with_sizes_copy:samples': 'missing: tapegrad has no split_with_sizes_copy',
    'op:__rdiv__:samples': 'missing: tapegrad has no __rdiv__',
    'op:__rdiv__:errors': 'missing: tapegrad has no __rdiv__',
    'op:__rmod__:samples': 'missing: tapegrad has no __rmod__',
    'op:__rmod__:errors': 'missing: tapegrad has no __rmod__',
    'op:select_scatter:samples': 'missing: tapegrad has no select_scatter',
    'op:slice:samples': 'missing: tapegrad has no slice',
    'op:slice_scatter:samples': 'missing: tapegrad has no slice_scatter',
    'op:signbit:samples': 'missing: tapegrad has no signbit',
    'op:tensor_split:samples': 'missing: tapegrad has no tensor_split',
    'op:hsplit:samples': 'missing: tapegrad has no hsplit',
    'op:hsplit:errors': 'missing: tapegrad has no hsplit',
    'op:vsplit:samples': 'missing: tapegrad has no vsplit',
    'op:vsplit:errors': 'missing: tapegrad has no vsplit',
    'op:dsplit:samples': 'missing: tapegrad has no dsplit',
    'op:dsplit:errors': 'missing: tapegrad has no dsplit',
    'op:nan_to_num:samples': 'missing: tapegrad has no nan_to_num',
    'op:lerp:samples': 'missing: tapegrad has no lerp',
    'op:angle:samples': 'missing: tapegrad has no angle',
    'op:isposinf:samples': 'missing: tapegrad has no isposinf',
    'op:isneginf:samples': 'missing: tapegrad has no isneginf',
    'op:isreal:samples': 'missing: tapegrad has no isreal',
    'op:einsum:samples': 'missing: tapegrad has no einsum',
    'op:polygamma.polygamma_n_0:samples': 'missing: tapegrad has no polygamma',
    'op:polygamma.polygamma_n_1:samples': 'missing: tapegrad has no polygamma',
    'op:polygamma.polygamma_n_2:samples': 'missing: tapegrad has no polygamma',
    'op:polygamma.polygamma_n_3:samples': 'missing: tapegrad has no polygamma',
    'op:polygamma.polygamma_n_4:samples': 'missing: tapegrad has no polygamma',
    'op:unravel_index:samples': 'missing: tapegrad has no unravel_index',
    'op:index_fill:samples': 'missing: tapegrad has no index_fill',
    'op:index_copy:samples': 'missing: tapegrad has no index_copy',
    'op:index_reduce.mean:samples': 'missing: tapegrad has no index_reduce',
    'op:index_reduce.prod:samples': 'missing: tapegrad has no index_reduce',
    'op:index_reduce.amin:samples': 'missing: tapegrad has no index_reduce',
    'op:index_reduce.amax:samples': 'missing: tapegrad has no index_reduce',
    'op:sort:samples':
        "ties in a large int8/uint8/bool tensor with stable=False: torch's unstable sort orders "
        "tied indices its own way (tapegrad's sort is stable)",
    'op:put:samples': 'missing: tapegrad has no put',
    'op:bfloat16:samples': 'missing: tapegrad has no bfloat16',
    'op:randint_like:samples': 'missing: tapegrad has no randint_like',
    'op:new_empty_strided:samples': 'missing: tapegrad has no new_empty_strided',
    'op:empty_strided:samples': 'missing: tapegrad has no empty_strided',
    'op:empty_permuted:samples': 'missing: tapegrad has no empty_permuted',
    'op:empty_permuted:errors': 'missing: tapegrad has no empty_permuted',
    'op:scalar_tensor:samples': 'missing: tapegrad has no scalar_tensor',
    'op:multinomial:samples': 'missing: tapegrad has no multinomial',
    'op:multinomial:errors': 'missing: tapegrad has no multinomial',
    'op:normal:samples': 'missing: tapegrad has no normal',
    'op:normal.number_mean:samples': 'missing: tapegrad has no normal',
    'op:bernoulli:samples': 'missing: tapegrad has no bernoulli',
    'op:bernoulli:errors': 'missing: tapegrad has no bernoulli',
    'op:hypot:samples': 'missing: tapegrad has no hypot',
    'op:hypot:errors': 'missing: tapegrad has no hypot',
    'op:unbind_copy:samples': 'missing: tapegrad has no unbind_copy',
    'op:unbind_copy:errors': 'missing: tapegrad has no unbind_copy',
    'op:unfold:samples': 'missing: tapegrad has no unfold',
    'op:unfold_copy:samples': 'missing: tapegrad has no unfold_copy',
    'op:squeeze_copy:samples': 'missing: tapegrad has no squeeze_copy',
    'op:fill:samples': 'missing: tapegrad has no fill',
    'op:resize_:samples': 'missing: tapegrad has no resize_',
    'op:resize_as_:samples': 'missing: tapegrad has no resize_as_',
    'op:unsqueeze_copy:samples': 'missing: tapegrad has no unsqueeze_copy',
    'op:xlogy:samples': 'missing: tapegrad has no xlogy',
    'op:xlogy:errors': 'missing: tapegrad has no xlogy',
    'op:transpose_copy:samples': 'missing: tapegrad has no transpose_copy',
    'op:H:samples': 'missing: tapegrad has no H',
    'op:mH:samples': 'missing: tapegrad has no mH',
    'op:triu_indices:samples': 'missing: tapegrad has no triu_indices',
    'op:tril_indices:samples': 'missing: tapegrad has no tril_indices',
    'op:kron:samples': 'missing: tapegrad has no kron',
    'op:inner:samples': 'missing: tapegrad has no inner',
    'op:tensordot:samples': 'missing: tapegrad has no tensordot',
    'op:logcumsumexp:samples':
        'float32 gradient with |x| up to 1e4: both libraries lose ~1e-3 to cancellation (each is '
        'that far from the float64 gradient)',
    'op:digamma:samples': 'missing: tapegrad has no digamma',
    'op:erfc:samples': 'missing: tapegrad has no erfc',
    'op:erfinv:samples': 'missing: tapegrad has no erfinv',
    'op:lgamma:samples': 'missing: tapegrad has no lgamma',
    'op:logit:samples': 'missing: tapegrad has no logit',
    'op:nonzero_static:samples': 'missing: tapegrad has no nonzero_static',
    'op:t_copy:samples': 'missing: tapegrad has no t_copy',
    'op:t_copy:errors': 'missing: tapegrad has no t_copy',
    'op:nn.functional.grid_sample:samples': 'missing: tapegrad has no nn.functional.grid_sample',
    'op:grid_sampler_2d:samples': 'missing: tapegrad has no grid_sampler_2d',
    'op:grid_sampler_3d:samples': 'missing: tapegrad has no grid_sampler_3d',
    'op:hash_tensor:samples': 'missing: tapegrad has no hash_tensor',
    'op:argsort:samples':
        "ties in a large int8/uint8/bool tensor with stable=False: torch's unstable sort orders "
        "tied indices its own way (tapegrad's is stable)",
    'op:repeat_interleave:samples': 'missing: tapegrad has no repeat_interleave',
    'op:nn.functional.pixel_shuffle:samples':
        'missing: tapegrad has no nn.functional.pixel_shuffle',
    'op:nn.functional.pixel_unshuffle:samples':
        'missing: tapegrad has no nn.functional.pixel_unshuffle',
    'op:nn.functional.channel_shuffle:samples':
        'missing: tapegrad has no nn.functional.channel_shuffle',
    'op:diagflat:samples': 'missing: tapegrad has no diagflat',
    'op:scatter_reduce.sum:samples': 'missing: tapegrad has no scatter_reduce',
    'op:scatter_reduce.prod:samples': 'missing: tapegrad has no scatter_reduce',
    'op:scatter_reduce.mean:samples': 'missing: tapegrad has no scatter_reduce',
    'op:scatter_reduce.amin:samples': 'missing: tapegrad has no scatter_reduce',
    'op:scatter_reduce.amax:samples': 'missing: tapegrad has no scatter_reduce',
    'op:linalg.norm.subgradients_at_zero:samples':
        'second derivative of the 2-norm at x = 0: torch gives NaN, tapegrad a finite value',
    # ---- modules that exist and disagree
    'module:nn.TransformerEncoder:samples':
        'not compared: its constructor takes a torch TransformerEncoderLayer instance, and '
        'the runner translates tensors, dtypes and functions to tapegrad, not modules',
    # ---- modules tapegrad does not have
    'module:nn.AdaptiveAvgPool3d:samples': 'missing: tapegrad.nn has no AdaptiveAvgPool3d',
    'module:nn.AdaptiveMaxPool3d:samples': 'missing: tapegrad.nn has no AdaptiveMaxPool3d',
    'module:nn.AvgPool3d:samples': 'missing: tapegrad.nn has no AvgPool3d',
    'module:nn.CELU:samples': 'missing: tapegrad.nn has no CELU',
    'module:nn.Conv3d:samples': 'missing: tapegrad.nn has no Conv3d',
    'module:nn.ConvTranspose1d:samples': 'missing: tapegrad.nn has no ConvTranspose1d',
    'module:nn.ConvTranspose2d:samples': 'missing: tapegrad.nn has no ConvTranspose2d',
    'module:nn.ConvTranspose3d:samples': 'missing: tapegrad.nn has no ConvTranspose3d',
    'module:nn.FractionalMaxPool2d:samples': 'missing: tapegrad.nn has no FractionalMaxPool2d',
    'module:nn.FractionalMaxPool3d:samples': 'missing: tapegrad.nn has no FractionalMaxPool3d',
    'module:nn.LazyConv1d:samples': 'missing: tapegrad.nn has no LazyConv1d',
    'module:nn.LazyConv2d:samples': 'missing: tapegrad.nn has no LazyConv2d',
    'module:nn.LazyConv3d:samples': 'missing: tapegrad.nn has no LazyConv3d',
    'module:nn.LazyConvTranspose1d:samples': 'missing: tapegrad.nn has no LazyConvTranspose1d',
    'module:nn.LazyConvTranspose2d:samples': 'missing: tapegrad.nn has no LazyConvTranspose2d',
    'module:nn.LazyConvTranspose3d:samples': 'missing: tapegrad.nn has no LazyConvTranspose3d',
    'module:nn.LPPool1d:samples': 'missing: tapegrad.nn has no LPPool1d',
    'module:nn.LPPool2d:samples': 'missing: tapegrad.nn has no LPPool2d',
    'module:nn.LPPool3d:samples': 'missing: tapegrad.nn has no LPPool3d',
    'module:nn.MaxPool3d:samples': 'missing: tapegrad.nn has no MaxPool3d',
    'module:nn.GLU:samples': 'missing: tapegrad.nn has no GLU',
    'module:nn.Hardshrink:samples': 'missing: tapegrad.nn has no Hardshrink',
    'module:nn.Hardswish:samples': 'missing: tapegrad.nn has no Hardswish',
    'module:nn.ReLU6:samples': 'missing: tapegrad.nn has no ReLU6',
    'module:nn.PReLU:samples': 'missing: tapegrad.nn has no PReLU',
    'module:nn.LogSigmoid:samples': 'missing: tapegrad.nn has no LogSigmoid',
    'module:nn.Softmax2d:samples': 'missing: tapegrad.nn has no Softmax2d',
    'module:nn.Softmin:samples': 'missing: tapegrad.nn has no Softmin',
    'module:nn.Softshrink:samples': 'missing: tapegrad.nn has no Softshrink',
    'module:nn.Softsign:samples': 'missing: tapegrad.nn has no Softsign',
    'module:nn.Tanhshrink:samples': 'missing: tapegrad.nn has no Tanhshrink',
    'module:nn.Threshold:samples': 'missing: tapegrad.nn has no Threshold',
    'module:nn.Mish:samples': 'missing: tapegrad.nn has no Mish',
    'module:nn.SELU:samples': 'missing: tapegrad.nn has no SELU',
    # ---- optimizers tapegrad does not have
    'optimizer:Adadelta:samples': 'missing: tapegrad.optim has no Adadelta',
    'optimizer:Adafactor:samples': 'missing: tapegrad.optim has no Adafactor',
    'optimizer:Adamax:samples': 'missing: tapegrad.optim has no Adamax',
    'optimizer:ASGD:samples': 'missing: tapegrad.optim has no ASGD',
    'optimizer:LBFGS:samples': 'missing: tapegrad.optim has no LBFGS',
    'optimizer:Muon:samples': 'missing: tapegrad.optim has no Muon',
    'optimizer:NAdam:samples': 'missing: tapegrad.optim has no NAdam',
    'optimizer:RAdam:samples': 'missing: tapegrad.optim has no RAdam',
    'optimizer:Rprop:samples': 'missing: tapegrad.optim has no Rprop',
}
