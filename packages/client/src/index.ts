export const where = "src";
