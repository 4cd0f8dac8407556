"""The models a run can use (NeuSample, NeRF, stratified sampling) and their common interface."""
