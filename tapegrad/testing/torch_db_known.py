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
    'op:arange:errors':
        'raised TypeError, torch ValueError: arange() got an unexpected keyword argument '
        "'out'",
    'op:clamp_max:errors':
        'accepts a Python number where torch requires a tensor',
    'op:clamp_min:errors':
        'accepts a Python number where torch requires a tensor',
    'op:sum_to_size:samples':
        'output: dtype int32, torch int64; output: dtype int16, torch int64; ...',
    'op:sum_to_size:errors':
        'raised ValueError, torch RuntimeError: size [10, 10] is not expandable to size [10, '
        '5, 10]; raised ValueError, torch RuntimeError: size [11, 1] is not expandable to '
        'size [11, 5, 5, 10]',
    'op:masked_fill:errors':
        'did not raise (torch raises RuntimeError: value cannot be converted to type .* '
        'without overflow)',
    'op:masked_select:errors':
        'raised TypeError, torch RuntimeError: masked_select() got an unexpected keyword '
        "argument 'out'",
    'op:logical_and:errors':
        'accepts a Python number where torch requires a tensor',
    'op:logical_or:errors':
        'accepts a Python number where torch requires a tensor',
    'op:logical_xor:errors':
        'accepts a Python number where torch requires a tensor',
    'op:bitwise_and:errors':
        'accepts a Python number where torch requires a tensor',
    'op:bitwise_or:errors':
        'accepts a Python number where torch requires a tensor',
    'op:bitwise_xor:errors':
        'accepts a Python number where torch requires a tensor',
    'op:nn.functional.conv1d:samples':
        'second derivatives missing: the first gradient is computed without a graph',
    'op:nn.functional.conv2d:samples':
        'second derivatives missing: the first gradient is computed without a graph',
    'op:nn.functional.batch_norm:samples':
        'RuntimeError: batch_norm: expected at least a 2-D input, got 1-D',
    'op:narrow:errors':
        'did not raise (torch raises RuntimeError: start must be an 0-dim integral Tensor\\.)',
    'op:pow:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__radd__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__rmul__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__rand__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__ror__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__rxor__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__rpow__:samples':
        'output: tapegrad gave NotImplementedType, torch a tensor; ValueError: Integers to '
        'negative integer powers are not allowed.',
    'op:__rpow__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:__rsub__:errors':
        'accepts a Python number where torch requires a tensor',
    'op:gather:samples':
        'RuntimeError: gather(): Expected dtype int32/int64 for index; RuntimeError: Index '
        'tensor must have the same number of dimensions as input tensor',
    'op:gather:errors':
        'raised TypeError, torch RuntimeError: gather() got an unexpected keyword argument '
        "'out'",
    'op:index_select:errors':
        'raised TypeError, torch RuntimeError: index_select() got an unexpected keyword '
        "argument 'out'",
    'op:index_add:samples':
        'OverflowError: Python integer -1 out of bounds for uint8',
    'op:take:errors':
        'raised TypeError, torch RuntimeError: take() got an unexpected keyword argument '
        "'out'",
    'op:scatter:samples':
        'NotImplementedError: scatter(reduce=...) is not supported; use scatter_add',
    'op:cat:errors':
        "raised TypeError, torch RuntimeError: cat() got an unexpected keyword argument 'out'",
    'op:zero_:samples':
        "AttributeError: module 'tapegrad' has no attribute 'zero_'",
    'op:norm.nuc:samples':
        "NotImplementedError: norm(p='nuc') needs a singular value decomposition, which "
        'tapegrad does not have',
    'op:nn.functional.embedding:errors':
        'raised IndexError, torch RuntimeError: tuple index out of range; did not raise '
        "(torch raises RuntimeError: 'weight' must be 2-D)",
    'op:amax:errors':
        'the samples need 65 dims (a numpy array holds at most 64), which tapegrad does not '
        'have; raised TypeError, torch RuntimeError: amax() got an unexpected keyword '
        "argument 'out'",
    'op:amin:errors':
        'the samples need 65 dims (a numpy array holds at most 64), which tapegrad does not '
        'have; raised TypeError, torch RuntimeError: amin() got an unexpected keyword '
        "argument 'out'",
    # ---- ops tapegrad does not have
    'op:addmv:samples': 'missing: tapegrad has no addmv',
    'op:addbmm:samples': 'missing: tapegrad has no addbmm',
    'op:baddbmm:samples': 'missing: tapegrad has no baddbmm',
    'op:vdot:samples': 'missing: tapegrad has no vdot',
    'op:vdot:errors': 'missing: tapegrad has no vdot',
    'op:addr:samples': 'missing: tapegrad has no addr',
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
    'op:cdist:samples': 'missing: tapegrad has no cdist',
    'op:unsafe_chunk:samples': 'missing: tapegrad has no unsafe_chunk',
    'op:conj:samples': 'missing: tapegrad has no conj',
    'op:conj_physical:samples': 'missing: tapegrad has no conj_physical',
    'op:resolve_conj:samples': 'missing: tapegrad has no resolve_conj',
    'op:resolve_neg:samples': 'missing: tapegrad has no resolve_neg',
    'op:copysign:samples': 'missing: tapegrad has no copysign',
    'op:copysign:errors': 'missing: tapegrad has no copysign',
    'op:corrcoef:samples': 'missing: tapegrad has no corrcoef',
    'op:cov:samples': 'missing: tapegrad has no cov',
    'op:cov:errors': 'missing: tapegrad has no cov',
    'op:cross:samples': 'missing: tapegrad has no cross',
    'op:cumprod:samples': 'missing: tapegrad has no cumprod',
    'op:cummax:samples': 'missing: tapegrad has no cummax',
    'op:cummin:samples': 'missing: tapegrad has no cummin',
    'op:deg2rad:samples': 'missing: tapegrad has no deg2rad',
    'op:diff:samples': 'missing: tapegrad has no diff',
    'op:diff:errors': 'missing: tapegrad has no diff',
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
    'op:gradient:samples': 'missing: tapegrad has no gradient',
    'op:gradient:errors': 'missing: tapegrad has no gradient',
    'op:isin:samples': 'missing: tapegrad has no isin',
    'op:kthvalue:samples': 'missing: tapegrad has no kthvalue',
    'op:kthvalue:errors': 'missing: tapegrad has no kthvalue',
    'op:logspace:samples': 'missing: tapegrad has no logspace',
    'op:logspace:errors': 'missing: tapegrad has no logspace',
    'op:logspace.tensor_overload:samples': 'missing: tapegrad has no logspace',
    'op:logspace.tensor_overload:errors': 'missing: tapegrad has no logspace',
    'op:ldexp:samples': 'missing: tapegrad has no ldexp',
    'op:ldexp:errors': 'missing: tapegrad has no ldexp',
    'op:logaddexp:samples': 'missing: tapegrad has no logaddexp',
    'op:logaddexp:errors': 'missing: tapegrad has no logaddexp',
    'op:logaddexp2:samples': 'missing: tapegrad has no logaddexp2',
    'op:masked_scatter:samples': 'missing: tapegrad has no masked_scatter',
    'op:masked_scatter:errors': 'missing: tapegrad has no masked_scatter',
    'op:median:samples': 'missing: tapegrad has no median',
    'op:nanmedian:samples': 'missing: tapegrad has no nanmedian',
    'op:meshgrid.variadic_tensors:samples': 'missing: tapegrad has no meshgrid',
    'op:meshgrid.list_of_tensors:samples': 'missing: tapegrad has no meshgrid',
    'op:quantile:samples': 'missing: tapegrad has no quantile',
    'op:nanquantile:samples': 'missing: tapegrad has no nanquantile',
    'op:heaviside:samples': 'missing: tapegrad has no heaviside',
    'op:heaviside:errors': 'missing: tapegrad has no heaviside',
    'op:lcm:samples': 'missing: tapegrad has no lcm',
    'op:lcm:errors': 'missing: tapegrad has no lcm',
    'op:gcd:samples': 'missing: tapegrad has no gcd',
    'op:gcd:errors': 'missing: tapegrad has no gcd',
    'op:nn.functional.softmin:samples': 'missing: tapegrad has no nn.functional.softmin',
    'op:nn.functional.softmin.with_dtype:samples': 'missing: tapegrad has no nn.functional.softmin',
    'op:nn.functional.linear_cross_entropy:samples':
        'missing: tapegrad has no nn.functional.linear_cross_entropy',
    'op:nn.functional.linear_cross_entropy:errors':
        'missing: tapegrad has no nn.functional.linear_cross_entropy',
    'op:nn.functional.linear_cross_entropy.chunked:samples':
        'missing: tapegrad has no nn.functional.linear_cross_entropy',
    'op:nn.functional.linear_cross_entropy.chunked:errors':
        'missing: tapegrad has no nn.functional.linear_cross_entropy',
    'op:nn.functional.linear_cross_entropy.chunked_none:samples':
        'missing: tapegrad has no nn.functional.linear_cross_entropy',
    'op:nn.functional.linear_cross_entropy.chunked_none:errors':
        'missing: tapegrad has no nn.functional.linear_cross_entropy',
    'op:aminmax:samples': 'missing: tapegrad has no aminmax',
    'op:aminmax:errors': 'missing: tapegrad has no aminmax',
    'op:as_strided:samples': 'missing: tapegrad has no as_strided',
    'op:as_strided.partial_views:samples': 'missing: tapegrad has no as_strided',
    'op:as_strided_copy:samples': 'missing: tapegrad has no as_strided_copy',
    'op:as_strided_scatter:samples': 'missing: tapegrad has no as_strided_scatter',
    'op:as_strided_scatter:errors': 'missing: tapegrad has no as_strided_scatter',
    'op:native_group_norm:samples': 'missing: tapegrad has no native_group_norm',
    'op:native_layer_norm:samples': 'missing: tapegrad has no native_layer_norm',
    'op:native_layer_norm:errors': 'missing: tapegrad has no native_layer_norm',
    'op:native_batch_norm:samples': 'missing: tapegrad has no native_batch_norm',
    'op:nn.functional.cosine_similarity:samples':
        'missing: tapegrad has no nn.functional.cosine_similarity',
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
    'op:nn.functional.group_norm:samples': 'missing: tapegrad has no nn.functional.group_norm',
    'op:nn.functional.group_norm:errors': 'missing: tapegrad has no nn.functional.group_norm',
    'op:nn.functional.instance_norm:samples':
        'missing: tapegrad has no nn.functional.instance_norm',
    'op:nn.functional.rms_norm:samples': 'missing: tapegrad has no nn.functional.rms_norm',
    'op:nn.functional.rms_norm:errors': 'missing: tapegrad has no nn.functional.rms_norm',
    'op:nn.functional.local_response_norm:samples':
        'missing: tapegrad has no nn.functional.local_response_norm',
    'op:constant_pad_nd:samples': 'missing: tapegrad has no constant_pad_nd',
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
    'op:nn.functional.soft_margin_loss:samples':
        'missing: tapegrad has no nn.functional.soft_margin_loss',
    'op:nn.functional.soft_margin_loss:errors':
        'missing: tapegrad has no nn.functional.soft_margin_loss',
    'op:nn.functional.upsample_nearest:samples':
        'missing: tapegrad has no nn.functional.upsample_nearest',
    'op:nn.functional.margin_ranking_loss:samples':
        'missing: tapegrad has no nn.functional.margin_ranking_loss',
    'op:nn.functional.margin_ranking_loss:errors':
        'missing: tapegrad has no nn.functional.margin_ranking_loss',
    'op:nn.functional.multi_margin_loss:samples':
        'missing: tapegrad has no nn.functional.multi_margin_loss',
    'op:nn.functional.multi_margin_loss:errors':
        'missing: tapegrad has no nn.functional.multi_margin_loss',
    'op:nn.functional.multilabel_margin_loss:samples':
        'missing: tapegrad has no nn.functional.multilabel_margin_loss',
    'op:nn.functional.multilabel_margin_loss:errors':
        'missing: tapegrad has no nn.functional.multilabel_margin_loss',
    'op:nn.functional.multilabel_soft_margin_loss:samples':
        'missing: tapegrad has no nn.functional.multilabel_soft_margin_loss',
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
    'op:nn.functional.triplet_margin_loss:samples':
        'missing: tapegrad has no nn.functional.triplet_margin_loss',
    'op:nn.functional.triplet_margin_loss:errors':
        'missing: tapegrad has no nn.functional.triplet_margin_loss',
    'op:nn.functional.triplet_margin_with_distance_loss:samples':
        'missing: tapegrad has no nn.functional.triplet_margin_with_distance_loss',
    'op:nn.functional.triplet_margin_with_distance_loss:errors':
        'missing: tapegrad has no nn.functional.triplet_margin_with_distance_loss',
    'op:nextafter:samples': 'missing: tapegrad has no nextafter',
    'op:nextafter:errors': 'missing: tapegrad has no nextafter',
    'op:topk:samples': 'missing: tapegrad has no topk',
    'op:igamma:samples': 'missing: tapegrad has no igamma',
    'op:igamma:errors': 'missing: tapegrad has no igamma',
    'op:igammac:samples': 'missing: tapegrad has no igammac',
    'op:igammac:errors': 'missing: tapegrad has no igammac',
    'op:nn.functional.softshrink:samples': 'missing: tapegrad has no nn.functional.softshrink',
    'op:nn.functional.softshrink:errors': 'missing: tapegrad has no nn.functional.softshrink',
    'op:nn.functional.hardshrink:samples': 'missing: tapegrad has no nn.functional.hardshrink',
    'op:mode:samples': 'missing: tapegrad has no mode',
    'op:mvlgamma.mvlgamma_p_1:samples': 'missing: tapegrad has no mvlgamma',
    'op:mvlgamma.mvlgamma_p_3:samples': 'missing: tapegrad has no mvlgamma',
    'op:mvlgamma.mvlgamma_p_5:samples': 'missing: tapegrad has no mvlgamma',
    'op:narrow_copy:samples': 'missing: tapegrad has no narrow_copy',
    'op:narrow_copy:errors': 'missing: tapegrad has no narrow_copy',
    'op:view_copy:samples': 'missing: tapegrad has no view_copy',
    'op:view_copy:errors': 'missing: tapegrad has no view_copy',
    'op:dist:samples': 'missing: tapegrad has no dist',
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
    'op:sort:samples': 'missing: tapegrad has no sort',
    'op:unique:samples': 'missing: tapegrad has no unique',
    'op:unique_consecutive:samples': 'missing: tapegrad has no unique_consecutive',
    'op:put:samples': 'missing: tapegrad has no put',
    'op:bfloat16:samples': 'missing: tapegrad has no bfloat16',
    'op:hypot:samples': 'missing: tapegrad has no hypot',
    'op:hypot:errors': 'missing: tapegrad has no hypot',
    'op:histogram:samples': 'missing: tapegrad has no histogram',
    'op:histogramdd:samples': 'missing: tapegrad has no histogramdd',
    'op:histogramdd:errors': 'missing: tapegrad has no histogramdd',
    'op:histc:samples': 'missing: tapegrad has no histc',
    'op:bincount:samples': 'missing: tapegrad has no bincount',
    'op:bucketize:samples': 'missing: tapegrad has no bucketize',
    'op:bucketize:errors': 'missing: tapegrad has no bucketize',
    'op:searchsorted:samples': 'missing: tapegrad has no searchsorted',
    'op:unbind_copy:samples': 'missing: tapegrad has no unbind_copy',
    'op:unbind_copy:errors': 'missing: tapegrad has no unbind_copy',
    'op:unfold:samples': 'missing: tapegrad has no unfold',
    'op:unfold_copy:samples': 'missing: tapegrad has no unfold_copy',
    'op:msort:samples': 'missing: tapegrad has no msort',
    'op:renorm:samples': 'missing: tapegrad has no renorm',
    'op:renorm:errors': 'missing: tapegrad has no renorm',
    'op:squeeze_copy:samples': 'missing: tapegrad has no squeeze_copy',
    'op:fill:samples': 'missing: tapegrad has no fill',
    'op:resize_:samples': 'missing: tapegrad has no resize_',
    'op:resize_as_:samples': 'missing: tapegrad has no resize_as_',
    'op:trapz:samples': 'missing: tapegrad has no trapz',
    'op:trapezoid:samples': 'missing: tapegrad has no trapezoid',
    'op:cumulative_trapezoid:samples': 'missing: tapegrad has no cumulative_trapezoid',
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
    'op:logcumsumexp:samples': 'missing: tapegrad has no logcumsumexp',
    'op:logcumsumexp:errors': 'missing: tapegrad has no logcumsumexp',
    'op:digamma:samples': 'missing: tapegrad has no digamma',
    'op:erfc:samples': 'missing: tapegrad has no erfc',
    'op:erfinv:samples': 'missing: tapegrad has no erfinv',
    'op:lgamma:samples': 'missing: tapegrad has no lgamma',
    'op:logit:samples': 'missing: tapegrad has no logit',
    'op:nonzero_static:samples': 'missing: tapegrad has no nonzero_static',
    'op:t_copy:samples': 'missing: tapegrad has no t_copy',
    'op:t_copy:errors': 'missing: tapegrad has no t_copy',
    'op:native_dropout_backward:samples': 'missing: tapegrad has no native_dropout_backward',
    'op:nn.functional.dropout2d:samples': 'missing: tapegrad has no nn.functional.dropout2d',
    'op:nn.functional.dropout3d:samples': 'missing: tapegrad has no nn.functional.dropout3d',
    'op:nn.functional.alpha_dropout:samples':
        'missing: tapegrad has no nn.functional.alpha_dropout',
    'op:nn.functional.feature_alpha_dropout.with_train:samples':
        'missing: tapegrad has no nn.functional.feature_alpha_dropout',
    'op:nn.functional.feature_alpha_dropout.without_train:samples':
        'missing: tapegrad has no nn.functional.feature_alpha_dropout',
    'op:nn.functional.embedding_bag:samples':
        'missing: tapegrad has no nn.functional.embedding_bag',
    'op:nn.functional.grid_sample:samples': 'missing: tapegrad has no nn.functional.grid_sample',
    'op:grid_sampler_2d:samples': 'missing: tapegrad has no grid_sampler_2d',
    'op:grid_sampler_3d:samples': 'missing: tapegrad has no grid_sampler_3d',
    'op:hash_tensor:samples': 'missing: tapegrad has no hash_tensor',
    'op:nn.functional.ctc_loss:samples': 'missing: tapegrad has no nn.functional.ctc_loss',
    'op:nn.functional.cosine_embedding_loss:samples':
        'missing: tapegrad has no nn.functional.cosine_embedding_loss',
    'op:nn.functional.gaussian_nll_loss:samples':
        'missing: tapegrad has no nn.functional.gaussian_nll_loss',
    'op:nn.functional.gaussian_nll_loss:errors':
        'missing: tapegrad has no nn.functional.gaussian_nll_loss',
    'op:nn.functional.hinge_embedding_loss:samples':
        'missing: tapegrad has no nn.functional.hinge_embedding_loss',
    'op:nn.functional.hinge_embedding_loss:errors':
        'missing: tapegrad has no nn.functional.hinge_embedding_loss',
    'op:nn.functional.pdist:samples': 'missing: tapegrad has no nn.functional.pdist',
    'op:nn.functional.poisson_nll_loss:samples':
        'missing: tapegrad has no nn.functional.poisson_nll_loss',
    'op:nn.functional.poisson_nll_loss:errors':
        'missing: tapegrad has no nn.functional.poisson_nll_loss',
    'op:argsort:samples': 'missing: tapegrad has no argsort',
    'op:repeat_interleave:samples': 'missing: tapegrad has no repeat_interleave',
    'op:nn.functional.pairwise_distance:samples':
        'missing: tapegrad has no nn.functional.pairwise_distance',
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
    'op:linalg.cross:samples': 'missing: tapegrad has no linalg.cross',
    'op:linalg.cross:errors': 'missing: tapegrad has no linalg.cross',
    'op:linalg.det:samples': 'missing: tapegrad has no linalg.det',
    'op:linalg.vecdot:samples': 'missing: tapegrad has no linalg.vecdot',
    'op:linalg.multi_dot:samples': 'missing: tapegrad has no linalg.multi_dot',
    'op:linalg.norm:samples': 'missing: tapegrad has no linalg.norm',
    'op:linalg.norm.subgradients_at_zero:samples': 'missing: tapegrad has no linalg.norm',
    'op:linalg.matrix_norm:samples': 'missing: tapegrad has no linalg.matrix_norm',
    'op:linalg.vector_norm:samples': 'missing: tapegrad has no linalg.vector_norm',
    'op:linalg.inv:samples': 'missing: tapegrad has no linalg.inv',
    'op:linalg.solve:samples': 'missing: tapegrad has no linalg.solve',
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
    'module:nn.CosineEmbeddingLoss:samples': 'missing: tapegrad.nn has no CosineEmbeddingLoss',
    'module:nn.FractionalMaxPool2d:samples': 'missing: tapegrad.nn has no FractionalMaxPool2d',
    'module:nn.FractionalMaxPool3d:samples': 'missing: tapegrad.nn has no FractionalMaxPool3d',
    'module:nn.LazyConv1d:samples': 'missing: tapegrad.nn has no LazyConv1d',
    'module:nn.LazyConv2d:samples': 'missing: tapegrad.nn has no LazyConv2d',
    'module:nn.LazyConv3d:samples': 'missing: tapegrad.nn has no LazyConv3d',
    'module:nn.LazyConvTranspose1d:samples': 'missing: tapegrad.nn has no LazyConvTranspose1d',
    'module:nn.LazyConvTranspose2d:samples': 'missing: tapegrad.nn has no LazyConvTranspose2d',
    'module:nn.LazyConvTranspose3d:samples': 'missing: tapegrad.nn has no LazyConvTranspose3d',
    'module:nn.Bilinear:samples': 'missing: tapegrad.nn has no Bilinear',
    'module:nn.LPPool1d:samples': 'missing: tapegrad.nn has no LPPool1d',
    'module:nn.LPPool2d:samples': 'missing: tapegrad.nn has no LPPool2d',
    'module:nn.LPPool3d:samples': 'missing: tapegrad.nn has no LPPool3d',
    'module:nn.MaxPool3d:samples': 'missing: tapegrad.nn has no MaxPool3d',
    'module:nn.MarginRankingLoss:samples': 'missing: tapegrad.nn has no MarginRankingLoss',
    'module:nn.MultiLabelMarginLoss:samples': 'missing: tapegrad.nn has no MultiLabelMarginLoss',
    'module:nn.MultiMarginLoss:samples': 'missing: tapegrad.nn has no MultiMarginLoss',
    'module:nn.SoftMarginLoss:samples': 'missing: tapegrad.nn has no SoftMarginLoss',
    'module:nn.MultiLabelSoftMarginLoss:samples':
        'missing: tapegrad.nn has no MultiLabelSoftMarginLoss',
    'module:nn.GaussianNLLLoss:samples': 'missing: tapegrad.nn has no GaussianNLLLoss',
    'module:nn.PoissonNLLLoss:samples': 'missing: tapegrad.nn has no PoissonNLLLoss',
    'module:nn.HingeEmbeddingLoss:samples': 'missing: tapegrad.nn has no HingeEmbeddingLoss',
    'module:nn.LinearCrossEntropyLoss:samples':
        'missing: tapegrad.nn has no LinearCrossEntropyLoss',
    'module:nn.CTCLoss:samples': 'missing: tapegrad.nn has no CTCLoss',
    'module:nn.GLU:samples': 'missing: tapegrad.nn has no GLU',
    'module:nn.GroupNorm:samples': 'missing: tapegrad.nn has no GroupNorm',
    'module:nn.Hardshrink:samples': 'missing: tapegrad.nn has no Hardshrink',
    'module:nn.Hardswish:samples': 'missing: tapegrad.nn has no Hardswish',
    'module:nn.InstanceNorm1d:samples': 'missing: tapegrad.nn has no InstanceNorm1d',
    'module:nn.InstanceNorm2d:samples': 'missing: tapegrad.nn has no InstanceNorm2d',
    'module:nn.InstanceNorm3d:samples': 'missing: tapegrad.nn has no InstanceNorm3d',
    'module:nn.LocalResponseNorm:samples': 'missing: tapegrad.nn has no LocalResponseNorm',
    'module:nn.RMSNorm:samples': 'missing: tapegrad.nn has no RMSNorm',
    'module:nn.TransformerDecoderLayer:samples':
        'missing: tapegrad.nn has no TransformerDecoderLayer',
    'module:nn.Transformer:samples': 'missing: tapegrad.nn has no Transformer',
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
    'module:nn.ReflectionPad1d:samples': 'missing: tapegrad.nn has no ReflectionPad1d',
    'module:nn.ReflectionPad2d:samples': 'missing: tapegrad.nn has no ReflectionPad2d',
    'module:nn.ReflectionPad3d:samples': 'missing: tapegrad.nn has no ReflectionPad3d',
    'module:nn.ReplicationPad1d:samples': 'missing: tapegrad.nn has no ReplicationPad1d',
    'module:nn.ReplicationPad2d:samples': 'missing: tapegrad.nn has no ReplicationPad2d',
    'module:nn.ReplicationPad3d:samples': 'missing: tapegrad.nn has no ReplicationPad3d',
    'module:nn.SELU:samples': 'missing: tapegrad.nn has no SELU',
    'module:nn.ZeroPad1d:samples': 'missing: tapegrad.nn has no ZeroPad1d',
    'module:nn.ZeroPad2d:samples': 'missing: tapegrad.nn has no ZeroPad2d',
    'module:nn.ZeroPad3d:samples': 'missing: tapegrad.nn has no ZeroPad3d',
    'module:nn.CircularPad1d:samples': 'missing: tapegrad.nn has no CircularPad1d',
    'module:nn.CircularPad2d:samples': 'missing: tapegrad.nn has no CircularPad2d',
    'module:nn.CircularPad3d:samples': 'missing: tapegrad.nn has no CircularPad3d',
    'module:nn.ConstantPad1d:samples': 'missing: tapegrad.nn has no ConstantPad1d',
    'module:nn.ConstantPad2d:samples': 'missing: tapegrad.nn has no ConstantPad2d',
    'module:nn.ConstantPad3d:samples': 'missing: tapegrad.nn has no ConstantPad3d',
}
