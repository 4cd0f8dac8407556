"""What a trained run produces for people: videos, sample-placement plots, pictures, exports (mesh, point cloud, camera paths), the live viewer, and the headless browser that tests them."""
