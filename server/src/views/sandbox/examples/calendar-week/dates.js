export const dayOf = (iso) => iso.slice(0, 10);
