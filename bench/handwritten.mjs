// Hand-written adjoints of the benchmarked fixture kernels (laplace5, conv2d, dense), with the same contract as the generated ones
// (run the primal, state-transforming adjoints: on entry outb holds the adjoint of the output,
// on return the input adjoints are accumulated and outb is reset): the baseline the generated code
// is compared with. Written the way a careful person would: each output element's forward value and
// its reverse contribution in one pass (the parallel iterations are independent, so nothing needs
// saving), row offsets hoisted, no tape.

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

export function conv2d_b(out, outb, inp, inpb, w, wb, bias, biasb, C, H, W, F, K) {
  const OH = H - K + 1, OW = W - K + 1;
  for (let f = 0; f < F; f++) {
    let gbias = 0;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = bias[f];
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < K; ky++) {
            const wrow = ((f * C + c) * K + ky) * K, irow = (c * H + oy + ky) * W + ox;
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
            const wrow = ((f * C + c) * K + ky) * K, irow = (c * H + oy + ky) * W + ox;
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
