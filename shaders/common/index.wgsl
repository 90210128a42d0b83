// Thread indexing: 64 threads per workgroup, a 2-D grid of workgroups for big launches
// (src/backend/mod.rs `grid_for`).

const WORKGROUP: u32 = 64u;

// The logical thread id of (workgroup id, number of workgroups, local id).
fn global_index(wg: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wg.y * nwg.x + wg.x) * WORKGROUP + lid.x;
}
