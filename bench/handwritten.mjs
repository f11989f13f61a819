// Hand-written adjoints of bench/kernels.ts, with the same contract as the generated ones
// (run the primal, state-transforming adjoints): the baseline the generated code is compared with.

export function stencil2d_b(out, outb, u, ub, c, H, W) {
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const k = y * W + x;
      out[k] = u[k] + c * (u[k - 1] + u[k + 1] + u[k - W] + u[k + W] - 4 * u[k]);
    }
  }
  let cb = 0;
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const k = y * W + x;
      const g = outb[k];
      outb[k] = 0;
      cb += g * (u[k - 1] + u[k + 1] + u[k - W] + u[k + W] - 4 * u[k]);
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
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let acc = bias[f];
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < K; ky++) {
            const wrow = ((f * C + c) * K + ky) * K, irow = (c * H + oy + ky) * W + ox;
            for (let kx = 0; kx < K; kx++) acc += w[wrow + kx] * inp[irow + kx];
          }
        }
        out[(f * OH + oy) * OW + ox] = acc;
      }
    }
  }
  for (let f = 0; f < F; f++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const o = (f * OH + oy) * OW + ox;
        const g = outb[o];
        outb[o] = 0;
        biasb[f] += g;
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
  }
}

export function dense_b(y, yb, W, Wb, x, xb, b, bb, nOut, nIn) {
  for (let o = 0; o < nOut; o++) {
    let acc = b[o];
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) acc += W[row + i] * x[i];
    y[o] = Math.tanh(acc);
  }
  for (let o = 0; o < nOut; o++) {
    const g = yb[o] * (1 - y[o] * y[o]);
    yb[o] = 0;
    bb[o] += g;
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) {
      Wb[row + i] += x[i] * g;
      xb[i] += W[row + i] * g;
    }
  }
}
