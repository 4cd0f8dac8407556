"""Where along each ray the radiance field is queried: the step between rays and the radiance field.

- :mod:`.base`: the :class:`~.base.Sampler` interface every sampler implements (samples, probe pass, loss terms,
  per-step N, collapse reset, extraction hooks, FLOPs).
- :mod:`.sample_field`: NeuSample's samplers, a sample field per ray: the paper head and the any-N quantile head
  (their networks are :mod:`jneusample.fields.sample_field`).
- :mod:`.stratified`: evenly spaced bins, jittered in training, bin centres at render time (the control every
  claim about the sample field is measured against; any N).
- :mod:`.coarse_to_fine`: NeRF's sampler, a coarse radiance field whose weights place the fine samples.
- :mod:`.proposal`, :mod:`.histogram_loss`: what teaches a sample field where each ray's content is (a
  gradient-free probe pass and the losses against it; the quantile head's histogram loss).
- :mod:`.distances`: stratified and inverse-CDF distances, piecewise-linear quantiles; :mod:`.collapse`: a sample
  field collapsed onto the rays' ends, measured.
"""
