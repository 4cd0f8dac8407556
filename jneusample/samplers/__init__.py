"""How sample distances along a ray are produced: the step between rays and the radiance field.

- :mod:`.stratified`: evenly spaced bins, jittered in training, bin centres at render time (the control every
  claim about the sample field is measured against; any N).
- :mod:`.proposal`: what teaches a sample field where each ray's content is: a gradient-free probe pass of the
  radiance field at stratified distances, and the losses that pull the sample field towards its weights
  (mip-NeRF 360's one-sided interlevel bound for the quantile head, quantile distillation for the paper head).

NeuSample's sample field itself is a network, in :mod:`jneusample.fields.sample_field`; NeRF's inverse-CDF
sampler is in :mod:`jneusample.samplers.distances`.
"""
