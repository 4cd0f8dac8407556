"""How a run is judged: image metrics (PSNR, SSIM, LPIPS), per-scene evaluation, the render-speed benchmark and the placement study."""
