// Hand-written adjoints of the benchmarked fixture kernels (stencil3, laplace5, conv2d, dense), with
// the same contract as the generated ones (run the primal, state-transforming adjoints: on entry outb
// holds the adjoint of the output, on return the input adjoints are accumulated and outb is reset):
// the baseline the generated code is compared with. Written the way a careful person would, in two
// forms:
// - scatter (`K_b`): each output element's forward value and its reverse contribution in one pass
//   (the parallel iterations are independent, so nothing needs saving), row offsets hoisted, no tape;
// - gather (`K_b_gather`, the form a parallel machine needs, TF-MAD): the primal pass (with the
//   reductions into weight adjoints), then one loop over the input adjoint's elements, each summing
//   the contributions of the outputs that read it, the boundary peeled (the interior without
//   guards, clamped window ranges), then the reset of the output adjoint. No allocation per call.

export function stencil1d_b(out, outb, u, ub, w, wb, n) {
  const w0 = w[0],
    w1 = w[1],
    w2 = w[2];
  let g0 = 0,
    g1 = 0,
    g2 = 0;
  for (let i = 1; i < n - 1; i++) {
    const a = u[i - 1],
      b = u[i],
      c = u[i + 1];
    out[i] = w0 * a + w1 * b + w2 * c;
    const g = outb[i];
    outb[i] = 0;
    g0 += g * a;
    g1 += g * b;
    g2 += g * c;
    ub[i - 1] += w0 * g;
    ub[i] += w1 * g;
    ub[i + 1] += w2 * g;
  }
  wb[0] += g0;
  wb[1] += g1;
  wb[2] += g2;
}

export function stencil1d_b_gather(out, outb, u, ub, w, wb, n) {
  const w0 = w[0],
    w1 = w[1],
    w2 = w[2];
  let g0 = 0,
    g1 = 0,
    g2 = 0;
  for (let i = 1; i < n - 1; i++) {
    const a = u[i - 1],
      b = u[i],
      c = u[i + 1];
    out[i] = w0 * a + w1 * b + w2 * c;
    const g = outb[i];
    g0 += g * a;
    g1 += g * b;
    g2 += g * c;
  }
  wb[0] += g0;
  wb[1] += g1;
  wb[2] += g2;
  // ub[j] += w0·outb[j+1] + w1·outb[j] + w2·outb[j-1] over the outputs 1 ≤ i ≤ n-2 that exist
  for (let j = 2; j < n - 2; j++) ub[j] += w0 * outb[j + 1] + w1 * outb[j] + w2 * outb[j - 1];
  const lo = Math.min(2, n);
  for (let j = 0; j < lo; j++) edge1d(outb, ub, w0, w1, w2, n, j);
  for (let j = Math.max(lo, n - 2); j < n; j++) edge1d(outb, ub, w0, w1, w2, n, j);
  if (n > 2) outb.fill(0, 1, n - 1);
}

// the boundary helpers are top-level functions: a closure inside the adjoint would move the
// variables it captures into a heap context, and the hot loops would read them from there

/** stencil3's output adjoint at i: outb on the outputs 1 ≤ i ≤ n-2, 0 elsewhere. */
function outb1d(outb, n, i) {
  return i >= 1 && i < n - 1 ? outb[i] : 0;
}

/** stencil3's gather at one boundary element of ub. */
function edge1d(outb, ub, w0, w1, w2, n, j) {
  ub[j] += w0 * outb1d(outb, n, j + 1) + w1 * outb1d(outb, n, j) + w2 * outb1d(outb, n, j - 1);
}

export function stencil2d_b(out, outb, u, ub, c, H, W) {
  let cb = 0;
  for (let y = 1; y < H - 1; y++) {
    const row = y * W;
    for (let x = 1; x < W - 1; x++) {
      const k = row + x;
      const uk = u[k];
      const lap = u[k - 1] + u[k + 1] + u[k - W] + u[k + W] - 4 * uk;
      out[k] = uk + c * lap;
      const g = outb[k];
      outb[k] = 0;
      cb += g * lap;
      const gc = c * g;
      ub[k] += g - 4 * gc;
      ub[k - 1] += gc;
      ub[k + 1] += gc;
      ub[k - W] += gc;
      ub[k + W] += gc;
    }
  }
  return { cb };
}

export function stencil2d_b_gather(out, outb, u, ub, c, H, W) {
  let cb = 0;
  for (let y = 1; y < H - 1; y++) {
    const row = y * W;
    for (let x = 1; x < W - 1; x++) {
      const k = row + x;
      const uk = u[k];
      const lap = u[k - 1] + u[k + 1] + u[k - W] + u[k + W] - 4 * uk;
      out[k] = uk + c * lap;
      cb += outb[k] * lap;
    }
  }
  // ub[k] += (1 - 4c)·g(k) + c·(g(k-1) + g(k+1) + g(k-W) + g(k+W)), g = outb on the interior, 0 outside
  const d = 1 - 4 * c;
  for (let y = 2; y < H - 2; y++) {
    const row = y * W;
    for (let x = 2; x < W - 2; x++) {
      const k = row + x;
      ub[k] += d * outb[k] + c * (outb[k - 1] + outb[k + 1] + outb[k - W] + outb[k + W]);
    }
  }
  // the boundary: rows 0, 1, H-2, H-1 whole, then columns 0, 1, W-2, W-1 of the rows between
  const ylo = Math.min(2, H),
    yhi = Math.max(ylo, H - 2),
    xlo = Math.min(2, W),
    xhi = Math.max(xlo, W - 2);
  for (let y = 0; y < ylo; y++) for (let x = 0; x < W; x++) edge2d(outb, ub, c, H, W, y, x);
  for (let y = yhi; y < H; y++) for (let x = 0; x < W; x++) edge2d(outb, ub, c, H, W, y, x);
  for (let y = ylo; y < yhi; y++) {
    for (let x = 0; x < xlo; x++) edge2d(outb, ub, c, H, W, y, x);
    for (let x = xhi; x < W; x++) edge2d(outb, ub, c, H, W, y, x);
  }
  for (let y = 1; y < H - 1; y++) outb.fill(0, y * W + 1, y * W + W - 1);
  return { cb };
}

/** laplace5's output adjoint at (y, x): outb on the interior, 0 elsewhere. */
function outb2d(outb, H, W, y, x) {
  return y >= 1 && y < H - 1 && x >= 1 && x < W - 1 ? outb[y * W + x] : 0;
}

/** laplace5's gather at one boundary element of ub. */
function edge2d(outb, ub, c, H, W, y, x) {
  const around =
    outb2d(outb, H, W, y, x - 1) +
    outb2d(outb, H, W, y, x + 1) +
    outb2d(outb, H, W, y - 1, x) +
    outb2d(outb, H, W, y + 1, x);
  ub[y * W + x] += (1 - 4 * c) * outb2d(outb, H, W, y, x) + c * around;
}

export function conv2d_b(out, outb, inp, inpb, w, wb, bias, biasb, C, H, W, F, K) {
  const OH = H - K + 1,
    OW = W - K + 1;
  for (let f = 0; f < F; f++) {
    let gbias = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = bias[f];
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < K; ky++) {
            const wrow = ((f * C + c) * K + ky) * K,
              irow = (c * H + oy + ky) * W + ox;
            for (let kx = 0; kx < K; kx++) acc += w[wrow + kx] * inp[irow + kx];
          }
        }
        const o = (f * OH + oy) * OW + ox;
        out[o] = acc;
        const g = outb[o];
        outb[o] = 0;
        gbias += g;
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < K; ky++) {
            const wrow = ((f * C + c) * K + ky) * K,
              irow = (c * H + oy + ky) * W + ox;
            for (let kx = 0; kx < K; kx++) {
              wb[wrow + kx] += inp[irow + kx] * g;
              inpb[irow + kx] += w[wrow + kx] * g;
            }
          }
        }
      }
    }
    biasb[f] += gbias;
  }
}

export function conv2d_b_gather(out, outb, inp, inpb, w, wb, bias, biasb, C, H, W, F, K) {
  const OH = H - K + 1,
    OW = W - K + 1;
  for (let f = 0; f < F; f++) {
    let gbias = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = bias[f];
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < K; ky++) {
            const wrow = ((f * C + c) * K + ky) * K,
              irow = (c * H + oy + ky) * W + ox;
            for (let kx = 0; kx < K; kx++) acc += w[wrow + kx] * inp[irow + kx];
          }
        }
        const o = (f * OH + oy) * OW + ox;
        out[o] = acc;
        gbias += outb[o];
      }
    }
    biasb[f] += gbias;
  }
  // wb[f][c][ky][kx] += Σ_oy,ox outb[f][oy][ox] · inp[c][oy+ky][ox+kx]: one sum per weight
  for (let f = 0; f < F; f++) {
    for (let c = 0; c < C; c++) {
      for (let ky = 0; ky < K; ky++) {
        for (let kx = 0; kx < K; kx++) {
          let s = 0;
          for (let oy = 0; oy < OH; oy++) {
            const orow = (f * OH + oy) * OW,
              irow = (c * H + oy + ky) * W + kx;
            for (let ox = 0; ox < OW; ox++) s += outb[orow + ox] * inp[irow + ox];
          }
          wb[((f * C + c) * K + ky) * K + kx] += s;
        }
      }
    }
  }
  // inpb[c][iy][ix] += Σ_f Σ_ky Σ_kx w[f][c][ky][kx] · outb[f][iy-ky][ix-kx], the windows clamped to
  // the outputs that exist (no per-term guard)
  for (let c = 0; c < C; c++) {
    for (let iy = 0; iy < H; iy++) {
      const ky0 = Math.max(0, iy - OH + 1),
        ky1 = Math.min(K - 1, iy);
      for (let ix = 0; ix < W; ix++) {
        const kx0 = Math.max(0, ix - OW + 1),
          kx1 = Math.min(K - 1, ix);
        let s = 0;
        for (let f = 0; f < F; f++) {
          for (let ky = ky0; ky <= ky1; ky++) {
            const wrow = ((f * C + c) * K + ky) * K,
              orow = (f * OH + iy - ky) * OW + ix;
            for (let kx = kx0; kx <= kx1; kx++) s += w[wrow + kx] * outb[orow - kx];
          }
        }
        inpb[(c * H + iy) * W + ix] += s;
      }
    }
  }
  outb.fill(0, 0, F * OH * OW);
}

export function dense_b(y, yb, W, Wb, x, xb, b, bb, nOut, nIn) {
  for (let o = 0; o < nOut; o++) {
    const row = o * nIn;
    let acc = b[o];
    for (let i = 0; i < nIn; i++) acc += W[row + i] * x[i];
    const t = Math.tanh(acc);
    y[o] = t;
    const g = yb[o] * (1 - t * t);
    yb[o] = 0;
    bb[o] += g;
    for (let i = 0; i < nIn; i++) {
      Wb[row + i] += x[i] * g;
      xb[i] += W[row + i] * g;
    }
  }
}

/** The gather form: the output adjoint's scaled values are staged in yb itself (reset at the end). */
export function dense_b_gather(y, yb, W, Wb, x, xb, b, bb, nOut, nIn) {
  for (let o = 0; o < nOut; o++) {
    const row = o * nIn;
    let acc = b[o];
    for (let i = 0; i < nIn; i++) acc += W[row + i] * x[i];
    const t = Math.tanh(acc);
    y[o] = t;
    const g = yb[o] * (1 - t * t);
    yb[o] = g;
    bb[o] += g;
    for (let i = 0; i < nIn; i++) Wb[row + i] += x[i] * g;
  }
  for (let i = 0; i < nIn; i++) {
    let s = 0;
    for (let o = 0; o < nOut; o++) s += W[o * nIn + i] * yb[o];
    xb[i] += s;
  }
  yb.fill(0, 0, nOut);
}

/**
 * Bilinear resize (bench/kernels/natural.ts's resizeBilinear: TF.js's resizeBilinear without corner
 * alignment or half-pixel centres), the fastest form found by hand for V8 (issue 13: the ceiling of
 * the natural table's `tf.grads / K_b`): forward value and reverse contribution of each output element
 * in one pass, the four corner offsets and weights per output pixel hoisted out of the channel loop,
 * the weights of the four `inpb` updates multiplied out, integer corner indices (`| 0`). Same contract
 * as the generated K_b (outb reset).
 */
export function resizeBilinear_b(out, outb, inp, inpb, H, W, C, OH, OW) {
  for (let oy = 0; oy < OH; oy++) {
    const sy = (oy * H) / OH;
    const y0 = Math.floor(sy) | 0;
    const y1 = Math.min(y0 + 1, H - 1);
    const dy = sy - y0;
    for (let ox = 0; ox < OW; ox++) {
      const sx = (ox * W) / OW;
      const x0 = Math.floor(sx) | 0;
      const x1 = Math.min(x0 + 1, W - 1);
      const dx = sx - x0;
      const i00 = (y0 * W + x0) * C,
        i01 = (y0 * W + x1) * C,
        i10 = (y1 * W + x0) * C,
        i11 = (y1 * W + x1) * C,
        o = (oy * OW + ox) * C;
      const w00 = (1 - dy) * (1 - dx),
        w01 = (1 - dy) * dx,
        w10 = dy * (1 - dx),
        w11 = dy * dx;
      for (let c = 0; c < C; c++) {
        const top = inp[i00 + c] * (1 - dx) + inp[i01 + c] * dx;
        const bottom = inp[i10 + c] * (1 - dx) + inp[i11 + c] * dx;
        out[o + c] = top * (1 - dy) + bottom * dy;
        const s = outb[o + c];
        outb[o + c] = 0;
        inpb[i00 + c] += w00 * s;
        inpb[i01 + c] += w01 * s;
        inpb[i10 + c] += w10 * s;
        inpb[i11 + c] += w11 * s;
      }
    }
  }
}
