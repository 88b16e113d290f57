declare module '*?text' {
  const content: string;
  export default content;
}
