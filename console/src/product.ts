import { createContext, useContext } from 'react';
import type { ProductInfo } from './api/types.ts';

/** Until GET /v1/product answers (or if it cannot), the console names itself. */
export const DEFAULT_PRODUCT: ProductInfo = { name: 'Latchkey', accent_color: null };

/** The deployment's product (its product file's name): the shell, sign-in and setup pages say it. */
export const ProductContext = createContext<ProductInfo>(DEFAULT_PRODUCT);

export function useProduct(): ProductInfo {
  return useContext(ProductContext);
}
